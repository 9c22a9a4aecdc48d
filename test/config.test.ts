import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, maskUrl } from '../src/config.js';

function errorOf(env: NodeJS.ProcessEnv, overrides = {}): string {
  try {
    loadConfig(env, overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('defaults to the free plan, the services script URLs and no key', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ plan: 'free', ratePerMin: 5, dailyCredits: 500, apiKeys: [], queuePrefix: '{ha}' });
    expect(config.databaseUrl).toContain('127.0.0.1:54329');
  });

  it('reads several comma-separated keys and lets flags win over the environment', () => {
    const config = loadConfig({ CRAWLORA_API_KEY: 'k1, k2,', CRAWLORA_PLAN: 'free' }, { CRAWLORA_PLAN: 'pro' });
    expect(config).toMatchObject({ apiKeys: ['k1', 'k2'], plan: 'pro', ratePerMin: 120, dailyCredits: null });
  });

  it('looks hashtag counts up for coverage unless HA_COVERAGE=off, and names a bad value', () => {
    expect(loadConfig({}).coverageLookups).toBe(true);
    expect(loadConfig({ HA_COVERAGE: 'OFF' }).coverageLookups).toBe(false);
    expect(errorOf({ HA_COVERAGE: 'no' })).toBe("HA_COVERAGE: 'no' is neither on nor off; give one of them");
  });

  it('lets CRAWLORA_RATE_PER_MIN and CRAWLORA_DAILY_CREDITS override the plan', () => {
    expect(loadConfig({ CRAWLORA_RATE_PER_MIN: '600', CRAWLORA_DAILY_CREDITS: '80' })).toMatchObject({ ratePerMin: 600, dailyCredits: 80 });
  });

  it('reads the scaling settings: retention in months or years, prepared statements, a replica', () => {
    expect(loadConfig({})).toMatchObject({ snapshotRetentionMonths: null, pgPreparedStatements: true, databaseReplicaUrl: null });
    expect(loadConfig({ HA_SNAPSHOT_RETENTION: '24 months' }).snapshotRetentionMonths).toBe(24);
    expect(loadConfig({ HA_SNAPSHOT_RETENTION: '2 years' }).snapshotRetentionMonths).toBe(24);
    expect(loadConfig({ HA_SNAPSHOT_RETENTION: '1 month' }).snapshotRetentionMonths).toBe(1);
    expect(loadConfig({ HA_PG_PREPARED_STATEMENTS: 'false' }).pgPreparedStatements).toBe(false);
    expect(loadConfig({ REDIS_SENTINELS: '10.0.0.1:26379, s2:26380', REDIS_SENTINEL_NAME: 'mymaster' })).toMatchObject({
      redisSentinels: [{ host: '10.0.0.1', port: 26379 }, { host: 's2', port: 26380 }],
      redisSentinelName: 'mymaster',
      redisCluster: false,
    });
    expect(loadConfig({ DATABASE_REPLICA_URL: 'postgres://r@10.0.0.2/archiver' }).databaseReplicaUrl).toBe('postgres://r@10.0.0.2/archiver');
  });

  it('names the bad setting and what to do, in one line', () => {
    const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
      [{ CRAWLORA_PLAN: 'gold' }, /^CRAWLORA_PLAN: 'gold' is not a Crawlora plan; use one of free, /],
      [{ CRAWLORA_RATE_PER_MIN: '-5' }, /^CRAWLORA_RATE_PER_MIN: '-5' is not a whole number/],
      [{ HA_CONCURRENCY: 'lots' }, /^HA_CONCURRENCY: 'lots' is not a whole number/],
      [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL: 'not a url' is not a URL/],
      [{ DATABASE_URL: 'mysql://u:secret@h/db' }, /^DATABASE_URL: .* must start with postgres:\/\//],
      [{ REDIS_URL: 'http://localhost' }, /^REDIS_URL: .* must start with redis:\/\//],
      [{ HA_QUEUE_PREFIX: 'a:b' }, /^HA_QUEUE_PREFIX: /],
      [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
      [{ HA_SNAPSHOT_RETENTION: '24' }, /^HA_SNAPSHOT_RETENTION: '24' is not a number of months or years; give e.g. '24 months'/],
      [{ HA_SNAPSHOT_RETENTION: '0 months' }, /^HA_SNAPSHOT_RETENTION: /],
      [{ REDIS_SENTINELS: '10.0.0.1:26379' }, /^REDIS_SENTINELS is set without REDIS_SENTINEL_NAME; set both/],
      [{ REDIS_SENTINELS: '10.0.0.1', REDIS_SENTINEL_NAME: 'm' }, /^REDIS_SENTINELS: '10.0.0.1' is not host:port/],
      [{ HA_PG_PREPARED_STATEMENTS: 'maybe' }, /^HA_PG_PREPARED_STATEMENTS: 'maybe' is not true or false/],
      [{ DATABASE_REPLICA_URL: 'redis://h' }, /^DATABASE_REPLICA_URL: .* must start with postgres:\/\//],
    ];
    for (const [env, pattern] of cases) {
      const message = errorOf(env);
      expect(message).toMatch(pattern);
      expect(message).not.toContain('\n');
    }
  });

  it('never repeats a password from a bad connection string', () => {
    expect(errorOf({ DATABASE_URL: 'mysql://u:secret@h/db' })).not.toContain('secret');
  });
});

describe('maskUrl', () => {
  it('replaces the password and keeps the rest', () => {
    expect(maskUrl('postgres://archiver:archiver@127.0.0.1:54329/archiver')).toBe('postgres://archiver:***@127.0.0.1:54329/archiver');
    expect(maskUrl('redis://127.0.0.1:63790')).toBe('redis://127.0.0.1:63790');
  });
});
