import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { shorten } from '../src/cli/stats.js';
import { createRuns } from '../src/db/runs.js';
import { hashtagVideos, type CrawlRun } from '../src/db/schema.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { catalogueItem } from '../src/sim/catalogue.js';
import { startSimulator, type SimulatorHandle } from '../src/sim/server.js';
import { runCli } from './support/cli.js';
import { waitForRuns } from './support/runs.js';
import { freshDatabase, freshPrefix, silentLogger, testConfig, type TestDatabase } from './support/services.js';

const HASHTAG = '920001';
const SIZE = 100;
/** Crawled (a run exists) but holds no video. */
const EMPTY = '920002';
const UNKNOWN = '929999';

let database: TestDatabase;
let prefix: ReturnType<typeof freshPrefix>;
let sim: SimulatorHandle;
let app: App;
let env: Record<string, string>;
/** Oldest first. */
let runs: CrawlRun[];

beforeAll(async () => {
  database = await freshDatabase();
  prefix = freshPrefix();
  sim = await startSimulator({ itemsPerHashtag: SIZE });
  app = createApp(testConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: sim.baseUrl }), silentLogger);
  app.startWorker();
  const crawl = async (maxPages: number | null) => {
    const started = await startCrawl(app.database.db, app.queue, { hashtagIds: [HASHTAG], maxPages, maxItems: null });
    return waitForRuns(app.database.db, started.map((run) => run.id));
  };
  // A full crawl, a shorter re-crawl, and a run that fails: three runs, two statuses.
  const [full] = await crawl(null);
  const [short] = await crawl(1);
  sim.configure({ faults: [{ kind: '400', hashtagId: HASHTAG }] });
  const [failed] = await crawl(null);
  runs = [full!, short!, failed!];
  expect(runs.map((run) => run.status)).toEqual(['completed', 'completed', 'failed']);
  await createRuns(app.database.db, [{ hashtagId: EMPTY, maxPages: null, maxItems: null }]);
  env = { DATABASE_URL: database.url, HA_QUEUE_PREFIX: prefix.prefix };
});

afterAll(async () => {
  await app?.close();
  await sim?.close();
  await prefix?.clear();
  await database?.drop();
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

function expectOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(result.code).not.toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
}

describe('hashtag-archiver stats', () => {
  it('--json reports what the archived items and the runs add up to', async () => {
    const result = await runCli(['stats', HASHTAG, '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const stats = JSON.parse(result.stdout);

    const items = served();
    const links = await app.database.db.select().from(hashtagVideos).where(eq(hashtagVideos.hashtagId, HASHTAG));
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
    });
  });

  it('prints the same figures as text, with the top videos in a table', async () => {
    const result = await runCli(['stats', HASHTAG], env);
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
    const result = await runCli(['stats', EMPTY, '--json'], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ videos: 0, authors: 0, firstSeenAt: null, lastSeenAt: null, totalPlays: 0, topVideos: [] });
  });

  it('an unknown hashtag is one line telling to crawl it', async () => {
    const result = await runCli(['stats', UNKNOWN], env);
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
