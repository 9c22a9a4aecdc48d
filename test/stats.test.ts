import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { shorten } from '../src/cli/stats.js';
import { createRuns } from '../src/db/runs.js';
import { hashtagVideos, type CrawlRun } from '../src/db/schema.js';
import { catalogueItem } from '../src/sim/catalogue.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';

const HASHTAG = '920001';
const SIZE = 100;
/** Crawled (a run exists) but holds no video. */
const EMPTY = '920002';
const UNKNOWN = '929999';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: SIZE } });
/** Oldest first. */
let runs: CrawlRun[];

beforeAll(async () => {
  const crawl = (maxPages: number | null) => crawlAndWait(t.app, [HASHTAG], { maxPages });
  // A full crawl, a shorter re-crawl, and a run that fails: three runs, two statuses.
  const [full] = await crawl(null);
  const [short] = await crawl(1);
  t.sim.configure({ faults: [{ kind: '400', hashtagId: HASHTAG }] });
  const [failed] = await crawl(null);
  runs = [full!, short!, failed!];
  expect(runs.map((run) => run.status)).toEqual(['completed', 'completed', 'failed']);
  await createRuns(t.app.database.db, [{ hashtagId: EMPTY, maxPages: null, maxItems: null }]);
});

interface ServedItem {
  id: string;
  desc: string;
  author: { id: string; uniqueId: string };
  stats: { playCount: number };
}

/** The simulator's items as archived (Postgres cannot store U+0000, the crawler strips it). */
function served(): ServedItem[] {
  return Array.from({ length: SIZE }, (_, index) => {
    const json = JSON.stringify(catalogueItem(HASHTAG, index, 1, true));
    return JSON.parse(json.replaceAll('\\u0000', '')) as ServedItem;
  });
}

describe('hashtag-archiver stats', () => {
  it('--json reports what the archived items and the runs add up to', async () => {
    const result = await runCli(['stats', HASHTAG, '--json'], t.cliEnv());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const stats = JSON.parse(result.stdout);

    const items = served();
    const links = await t.app.database.db.select().from(hashtagVideos).where(eq(hashtagVideos.hashtagId, HASHTAG));
    const top = [...items]
      .sort((a, b) => b.stats.playCount - a.stats.playCount || (a.id < b.id ? -1 : 1))
      .slice(0, 10)
      .map((item) => ({ id: item.id, authorUniqueId: item.author.uniqueId, playCount: item.stats.playCount, description: item.desc }));
    const last = runs[2]!;

    expect(stats).toEqual({
      hashtagId: HASHTAG,
      videos: SIZE,
      authors: new Set(items.map((item) => item.author.id)).size,
      firstSeenAt: new Date(Math.min(...links.map((link) => link.firstSeenAt.getTime()))).toISOString(),
      lastSeenAt: new Date(Math.max(...links.map((link) => link.lastSeenAt.getTime()))).toISOString(),
      totalPlays: items.reduce((sum, item) => sum + item.stats.playCount, 0),
      topVideos: top,
      runs: {
        total: 3,
        byStatus: { queued: 0, running: 0, paused: 0, completed: 2, failed: 1, cancelled: 0 },
        last: {
          id: last.id,
          status: 'failed',
          items: last.items,
          newItems: last.newItems,
          stopReason: last.stopReason,
          createdAt: last.createdAt.toISOString(),
          finishedAt: last.finishedAt?.toISOString() ?? null,
        },
      },
      // Crawled by id with HA_COVERAGE=off: no reported count to hold the archive against.
      coverage: { reported: null, archived: SIZE, ratio: null, estimatedTotal: null, fatalItems: 0, missing: 0, creditsPerNewVideo: null, explanation: null },
    });
  });

  it('prints the same figures as text, with the top videos in a table', async () => {
    const result = await runCli(['stats', HASHTAG], t.cliEnv());
    expect(result.code).toBe(0);
    const items = served();
    const totalPlays = items.reduce((sum, item) => sum + item.stats.playCount, 0);
    const best = [...items].sort((a, b) => b.stats.playCount - a.stats.playCount)[0]!;
    expect(result.stdout).toContain(`videos       ${SIZE}\n`);
    expect(result.stdout).toContain(`total plays  ${totalPlays.toLocaleString('en-US')}\n`);
    expect(result.stdout).toMatch(new RegExp(`runs {9}3 \\(2 completed, 1 failed\\); last #${runs[2]!.id} failed`));
    expect(result.stdout).toMatch(new RegExp(`│ ${best.id} +│ ${best.author.uniqueId} +│ ${best.stats.playCount.toLocaleString('en-US')} +│`));
  });

  it('a crawled hashtag without videos has zero counts and exits 0', async () => {
    const result = await runCli(['stats', EMPTY, '--json'], t.cliEnv());
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ videos: 0, authors: 0, firstSeenAt: null, lastSeenAt: null, totalPlays: 0, topVideos: [] });
  });

  it('an unknown hashtag is one line telling to crawl it', async () => {
    const result = await runCli(['stats', UNKNOWN], t.cliEnv());
    expectOneLineError(result, new RegExp(`^error: hashtag ${UNKNOWN} is not in the archive; crawl it first with 'hashtag-archiver crawl ${UNKNOWN}'$`));
    expect(result.stdout).toBe('');
  });

  it('shortens descriptions to one line without cutting an emoji in half', () => {
    expect(shorten('short\nand sweet', 60)).toBe('short and sweet');
    const family = '👨‍👩‍👧';
    const long = `${'a'.repeat(58)}${family}${family}tail`;
    expect(shorten(long, 60)).toBe(`${'a'.repeat(58)}${family}…`);
  });
});
