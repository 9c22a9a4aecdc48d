import { readFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { createLogger } from '../src/logger.js';
import { runCli } from './support/cli.js';
import { spawnCli } from './support/server.js';
import { useCrawlEnvironment } from './support/environment.js';
import { SERVICES, silentLogger } from './support/services.js';

const GOOD_KEY = 'sk-live-GOOD-0123456789abcdef';
const REVOKED_KEY = 'sk-live-REVOKED-fedcba9876543210';

const t = useCrawlEnvironment({
  sim: { itemsPerHashtag: 90, rejectKeys: [REVOKED_KEY], faults: [{ kind: '500', times: 1 }, { kind: 'truncated', times: 1 }] },
  app: false,
});
let output = '';

beforeAll(async () => {
  const result = await runCli(['crawl', '777', '778', '--wait'], t.cliEnv({ CRAWLORA_API_KEY: `${REVOKED_KEY},${GOOD_KEY}`, CRAWLORA_PLAN: 'enterprise', LOG_LEVEL: 'debug' }));
  expect(result.code).toBe(0);
  output = result.stdout + result.stderr;
});

describe('API keys never leave memory in clear', () => {
  it('are absent from every log line and message, even at debug level and through a 401, a 500 and a truncated body', () => {
    expect(output).toContain('Crawlora refused this API key');
    expect(output).not.toContain(GOOD_KEY);
    expect(output).not.toContain(REVOKED_KEY);
    expect(output).not.toContain('sk-live');
  });

  it('are absent from every Redis key and value under the queue prefix', async () => {
    const redis = new Redis(SERVICES.redisUrl);
    const keys = await redis.keys(`${t.prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    const dump = [keys.join('\n')];
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') dump.push(String(await redis.get(key)));
      if (type === 'hash') dump.push(JSON.stringify(await redis.hgetall(key)));
      if (type === 'list') dump.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      if (type === 'set') dump.push(JSON.stringify(await redis.smembers(key)));
      if (type === 'zset') dump.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      if (type === 'stream') dump.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
    await redis.quit();
    expect(dump.join('\n')).not.toContain('sk-live');
  });

  it('are absent from every row of every table', async () => {
    const db = openDatabase({ url: t.database.url, logger: silentLogger });
    try {
      const tables = await db.db.execute<{ table_name: string }>(
        sql`select table_name from information_schema.tables where table_schema = 'public'`,
      );
      let rows = 0;
      for (const { table_name } of tables.rows) {
        const dump = await db.db.execute<{ row: string }>(sql`select row_to_json(t)::text as row from ${sql.identifier(table_name)} t`);
        rows += dump.rows.length;
        expect(dump.rows.map((r) => r.row).join('\n')).not.toContain('sk-live');
      }
      expect(rows).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it('are blanked by the logger even when an object holding one is logged by mistake', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(line) });
    logger.info({ apiKey: GOOD_KEY, config: { apiKeys: [GOOD_KEY] }, headers: { 'x-api-key': GOOD_KEY } }, 'oops');
    expect(lines.join('')).not.toContain(GOOD_KEY);
    expect(lines.join('')).toContain('[redacted]');
  });

  it("are absent from the dashboard's pages, API, Bull Board and /metrics, and from the process title and command line", async () => {
    const serve = spawnCli(['serve', '--port', '0'], t.cliEnv({ CRAWLORA_API_KEY: `${REVOKED_KEY},${GOOD_KEY}`, DASHBOARD_TOKEN: '' }));
    try {
      const [, url] = await serve.waitForStderr(/dashboard at (http:\/\/127\.0\.0\.1:\d+)\/runs/);
      const bodies: string[] = [];
      for (const path of ['/runs', '/runs/panel', '/api/runs', '/api/usage', '/api/activity', '/queues', '/queues/api/queues', '/metrics']) {
        const response = await fetch(`${url}${path}`);
        expect({ path, status: response.status }).toEqual({ path, status: 200 });
        bodies.push(await response.text());
      }
      expect(bodies.join('\n')).toContain('777');
      expect(bodies.join('\n')).not.toContain('sk-live');
      const cmdline = await readFile(`/proc/${serve.pid}/cmdline`, 'utf8');
      expect(cmdline).toContain('serve');
      expect(cmdline).not.toContain('sk-live');
    } finally {
      await serve.stop('SIGTERM');
    }
  });
});
