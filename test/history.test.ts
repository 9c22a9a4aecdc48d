import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { videoHistory } from '../src/db/history.js';
import { videos, type CrawlRun } from '../src/db/schema.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { catalogueIds, catalogueItem } from '../src/sim/catalogue.js';
import { startSimulator, type SimulatorHandle } from '../src/sim/server.js';
import { runCli } from './support/cli.js';
import { waitForRuns } from './support/runs.js';
import { freshDatabase, freshPrefix, silentLogger, testConfig, type TestDatabase } from './support/services.js';

const HASHTAG = '930001';
const SIZE = 60;

let database: TestDatabase;
let prefix: ReturnType<typeof freshPrefix>;
let sim: SimulatorHandle;
let app: App;
let env: Record<string, string>;
/** The crawl at epoch 1, then the one at epoch 2. */
let runs: CrawlRun[];

interface Counts {
  playCount: number;
  diggCount: number;
  commentCount: number;
  shareCount: number;
  collectCount: number;
}

const servedCounts = (index: number, epoch: number) => catalogueItem(HASHTAG, index, epoch, true).stats as Counts;

beforeAll(async () => {
  database = await freshDatabase();
  prefix = freshPrefix();
  sim = await startSimulator({ itemsPerHashtag: SIZE });
  app = createApp(testConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: sim.baseUrl }), silentLogger);
  app.startWorker();
  runs = [];
  for (const epoch of [1, 2]) {
    sim.configure({ epoch });
    const started = await startCrawl(app.database.db, app.queue, { hashtagIds: [HASHTAG], maxPages: null, maxItems: null });
    runs.push(...(await waitForRuns(app.database.db, started.map((run) => run.id))));
  }
  env = { DATABASE_URL: database.url, HA_QUEUE_PREFIX: prefix.prefix };
});

afterAll(async () => {
  await app?.close();
  await sim?.close();
  await prefix?.clear();
  await database?.drop();
});

describe('stats history', () => {
  it('holds one snapshot per crawl for every video, in crawl order, with the counts each crawl saw', async () => {
    expect(runs.map((run) => run.status)).toEqual(['completed', 'completed']);
    const ids = catalogueIds(HASHTAG, SIZE);
    for (const [index, id] of ids.entries()) {
      const history = await videoHistory(app.database.db, id);
      expect(history.map((snapshot) => snapshot.runId)).toEqual(runs.map((run) => run.id));
      history.forEach((snapshot, crawl) => {
        const served = servedCounts(index, crawl + 1);
        expect(snapshot).toMatchObject({
          plays: served.playCount,
          likes: served.diggCount,
          comments: served.commentCount,
          shares: served.shareCount,
          saves: served.collectCount,
        });
      });
      const [first, second] = history;
      expect(second!.plays!).toBeGreaterThan(first!.plays!);
      expect(second!.capturedAt.getTime()).toBeGreaterThanOrEqual(first!.capturedAt.getTime());
    }
  });

  it('leaves only the latest counts in videos', async () => {
    const id = catalogueIds(HASHTAG, 1)[0]!;
    const [row] = await app.database.db.select().from(videos).where(eq(videos.id, id));
    expect(row).toMatchObject({ playCount: servedCounts(0, 2).playCount, collectCount: servedCounts(0, 2).collectCount });
  });

  it('prints the series as a table and as JSON', async () => {
    const id = catalogueIds(HASHTAG, 1)[0]!;
    const [epoch1, epoch2] = [servedCounts(0, 1), servedCounts(0, 2)];
    const number = (value: number) => value.toLocaleString('en-US');

    const table = await runCli(['history', id], env);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n').filter((line) => /^│ \d{4}-/.test(line));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`│ ${runs[0]!.id}\\s+│ ${number(epoch1.playCount)}\\s+│ ${number(epoch1.diggCount)}\\s+│`));
    expect(rows[1]).toMatch(new RegExp(`│ ${runs[1]!.id}\\s+│ ${number(epoch2.playCount)}\\s+│ ${number(epoch2.diggCount)}\\s+│`));

    const json = await runCli(['history', id, '--json'], env);
    const series = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(series.map((snapshot) => [snapshot.runId, snapshot.plays, snapshot.saves])).toEqual([
      [runs[0]!.id, epoch1.playCount, epoch1.collectCount],
      [runs[1]!.id, epoch2.playCount, epoch2.collectCount],
    ]);
    expect(Date.parse(String(series[0]!.capturedAt))).not.toBeNaN();
  });

  it('refuses a video id the archive never saw with one line', async () => {
    const result = await runCli(['history', '7000000000000000001'], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      "error: video 7000000000000000001 is not in the archive; give the id of an archived video (see 'hashtag-archiver stats <hashtagId>')",
    ]);
  });
});
