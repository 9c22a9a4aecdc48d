import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashtagIdForName, startSimulator, type SimulatorHandle } from '../src/sim/server.js';
import { runCli } from './support/cli.js';
import { freshDatabase, freshPrefix, type TestDatabase } from './support/services.js';

let database: TestDatabase;
let prefix: ReturnType<typeof freshPrefix>;
let sim: SimulatorHandle;
let env: Record<string, string>;

beforeAll(async () => {
  database = await freshDatabase();
  prefix = freshPrefix();
  sim = await startSimulator();
  env = { DATABASE_URL: database.url, HA_QUEUE_PREFIX: prefix.prefix, CRAWLORA_BASE_URL: sim.baseUrl, CRAWLORA_API_KEY: 'schedule-key', CRAWLORA_PLAN: 'enterprise' };
});

afterAll(async () => {
  await sim?.close();
  await prefix?.clear();
  await database?.drop();
});

describe('schedules by hashtag name', () => {
  it('schedule add resolves a name once, and list and remove find it by name afterwards', async () => {
    const id = hashtagIdForName('christmas');
    const added = await runCli(['schedule', 'add', '#Christmas', '--every', '1h'], env);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`hashtag ${id}: every 1h`);
    expect((await runCli(['schedule', 'list'], env)).stdout).toContain(id);
    const removed = await runCli(['schedule', 'remove', 'christmas'], env);
    expect(removed.stdout).toContain(`hashtag ${id}: schedule removed`);
    expect(sim.stats().detailRequests).toBe(1);
  });

  it('schedule remove refuses a name never resolved, without asking Crawlora', async () => {
    const result = await runCli(['schedule', 'remove', 'neverseen'], env);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toMatch(/^error: #neverseen: not resolved yet/);
    expect(sim.stats().detailRequests).toBe(1);
  });
});
