import { describe, expect, it } from 'vitest';
import { hashtagIdForName } from '../src/sim/server.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';

const t = useCrawlEnvironment({ app: false, cli: { CRAWLORA_API_KEY: 'schedule-key', CRAWLORA_PLAN: 'enterprise' } });

describe('schedules by hashtag name', () => {
  it('schedule add resolves a name once, and list and remove find it by name afterwards', async () => {
    const id = hashtagIdForName('christmas');
    const added = await runCli(['schedule', 'add', '#Christmas', '--every', '1h'], t.cliEnv());
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`hashtag ${id}: every 1h`);
    expect((await runCli(['schedule', 'list'], t.cliEnv())).stdout).toContain(id);
    const removed = await runCli(['schedule', 'remove', 'christmas'], t.cliEnv());
    expect(removed.stdout).toContain(`hashtag ${id}: schedule removed`);
    expect(t.sim.stats().detailRequests).toBe(1);
  });

  it('schedule remove refuses a name never resolved, without asking Crawlora', async () => {
    const result = await runCli(['schedule', 'remove', 'neverseen'], t.cliEnv());
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toMatch(/^error: #neverseen: not resolved yet/);
    expect(t.sim.stats().detailRequests).toBe(1);
  });
});
