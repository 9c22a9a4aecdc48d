import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../src/sim/server.js';
import { runCli } from './support/cli.js';
import { freshDatabase, freshPrefix, type TestDatabase } from './support/services.js';

let database: TestDatabase;
let prefix: ReturnType<typeof freshPrefix>;
let sim: SimulatorHandle;
let env: Record<string, string>;

beforeAll(async () => {
  database = await freshDatabase();
  prefix = freshPrefix();
  sim = await startSimulator({ itemsPerHashtag: 90 });
  env = { DATABASE_URL: database.url, HA_QUEUE_PREFIX: prefix.prefix, CRAWLORA_BASE_URL: sim.baseUrl, CRAWLORA_RATE_PER_MIN: '6000' };
});

afterAll(async () => {
  await sim?.close();
  await prefix?.clear();
  await database?.drop();
});

function expectOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(result.code).not.toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('hashtag-archiver CLI', () => {
  it('crawl --wait archives a hashtag, prints the runs table and exits 0', async () => {
    const result = await runCli(['crawl', '424242', '--wait'], { ...env, CRAWLORA_API_KEY: 'cli-key' });
    expect(result.stderr).not.toContain('cli-key');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/│ 424242\s+│ completed\s+│ 3\s+│ 90\s+│ 90\s+│ 24/);
    const runs = await runCli(['runs'], env);
    expect(runs.stdout).toContain('424242');
  });

  it('refuses a hashtag that is neither an id nor a name with one line naming it', async () => {
    expectOneLineError(await runCli(['crawl', 'christmas!'], { ...env, CRAWLORA_API_KEY: 'k' }), /hashtag 'christmas!' is neither a numeric id nor a name/);
  });

  it('refuses to crawl without an API key, pointing at the demo', async () => {
    expectOneLineError(await runCli(['crawl', '1'], env), /CRAWLORA_API_KEY is not set.*npm run demo/);
  });

  it('refuses an unknown plan and a bad --max-pages', async () => {
    expectOneLineError(await runCli(['runs'], { ...env, CRAWLORA_PLAN: 'gold' }), /CRAWLORA_PLAN: 'gold'/);
    expectOneLineError(await runCli(['crawl', '1', '--max-pages', '-3'], { ...env, CRAWLORA_API_KEY: 'k' }), /--max-pages: '-3'/);
  });

  it('says which service is unreachable, with the password masked; read-only commands need no Redis', async () => {
    const result = await runCli(['runs'], { ...env, DATABASE_URL: 'postgres://archiver:hunter2@127.0.0.1:1/archiver' });
    expectOneLineError(result, /cannot reach Postgres at postgres:\/\/archiver:\*\*\*@127\.0\.0\.1:1\/archiver/);
    expect(result.stderr).not.toContain('hunter2');
    expectOneLineError(await runCli(['usage'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' }), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect((await runCli(['runs'], { ...env, REDIS_URL: 'redis://127.0.0.1:1' })).code).toBe(0);
  });

  it('resume refuses a run that does not exist', async () => {
    expectOneLineError(await runCli(['resume', '999999'], env), /run 999999 does not exist/);
  });
});
