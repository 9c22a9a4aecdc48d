import { eq } from 'drizzle-orm';
import { beforeEach, describe, expect, it } from 'vitest';
import { hashtags } from '../src/db/schema.js';
import { hashtagIdForName } from '../src/sim/server.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: 95 }, app: false, cli: { CRAWLORA_RATE_PER_MIN: '6000', CRAWLORA_API_KEY: 'cli-key' } });

beforeEach(() => t.sim.reset());

describe('hashtag-archiver resolve', () => {
  it('shows the mapping, from Crawlora once and from the cache afterwards, and again from Crawlora with --refresh', async () => {
    const id = hashtagIdForName('easter');
    const first = await runCli(['resolve', '#Easter', 'easter'], t.cliEnv());
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`│ #easter\\s*│ ${id}\\s*│ easter\\s*│ 95\\s*│ [\\d,]+\\s*│ \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s*│ Crawlora \\(8 credits\\)`));
    expect(t.sim.stats().detailRequests).toBe(1);

    const cached = await runCli(['resolve', 'EASTER'], t.cliEnv());
    expect(cached.stdout).toMatch(new RegExp(`│ #easter\\s*│ ${id}\\s*│.*│ cache\\s*│`));
    expect(t.sim.stats().detailRequests).toBe(1);

    const refreshed = await runCli(['resolve', 'easter', '--refresh', '--json'], t.cliEnv());
    expect(JSON.parse(refreshed.stdout)).toEqual([expect.objectContaining({ id, name: 'easter', videoCount: 95, fromCache: false })]);
    expect(t.sim.stats().detailRequests).toBe(2);
    expect(await t.database.database.db.select().from(hashtags).where(eq(hashtags.name, 'easter'))).toHaveLength(1);
  });
});

describe('a crawled hashtag by name in crawl, stats and export', () => {
  it('crawls it under its id and reads it back by name without asking Crawlora again', async () => {
    const id = hashtagIdForName('christmas');
    const crawl = await runCli(['crawl', '#Christmas', '--wait'], t.cliEnv());
    expect(crawl.code).toBe(0);
    expect(crawl.stdout).toContain(`#christmas → ${id} (resolved, 8 credits)`);
    expect(crawl.stdout).toMatch(new RegExp(`│ ${id}\\s+│ completed\\s+│ 4\\s+│ 95\\s+│ 95`));

    const stats = await runCli(['stats', 'CHRISTMAS'], t.cliEnv());
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(new RegExp(`^hashtag\\s+${id}\\nvideos\\s+95\\n`));

    const exported = await runCli(['export', '#christmas', id, '--format', 'jsonl'], t.cliEnv());
    expect(exported.code).toBe(0);
    expect(exported.stdout.trim().split('\n')).toHaveLength(95);
    expect(t.sim.stats().detailRequests).toBe(1);
  });

  it('refuses a name never resolved in stats and export, in one line and without a request', async () => {
    for (const args of [['stats', 'neverseen'], ['export', '#neverseen', '--format', 'csv']]) {
      const result = await runCli(args, t.cliEnv());
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: #neverseen: not resolved yet, so not in the archive; crawl by name or run 'hashtag-archiver resolve neverseen'/)]);
    }
    expect(t.sim.stats().detailRequests).toBe(0);
  });
});
