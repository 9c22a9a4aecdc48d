import { eq } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { videoHistory } from '../src/db/history.js';
import { videos, type CrawlRun } from '../src/db/schema.js';
import { catalogueIds, catalogueItem, type ItemCounts } from '../src/sim/catalogue.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';

const HASHTAG = '930001';
const SIZE = 60;

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: SIZE } });
/** The crawl at epoch 1, then the one at epoch 2. */
let runs: CrawlRun[];

const servedCounts = (index: number, epoch: number) => catalogueItem(HASHTAG, index, epoch, true).stats as ItemCounts;

beforeAll(async () => {
  runs = [];
  for (const epoch of [1, 2]) {
    t.sim.configure({ epoch });
    runs.push(...(await crawlAndWait(t.app, [HASHTAG])));
  }
});

describe('stats history', () => {
  it('holds one snapshot per crawl for every video, in crawl order, with the counts each crawl saw', async () => {
    expect(runs.map((run) => run.status)).toEqual(['completed', 'completed']);
    const ids = catalogueIds(HASHTAG, SIZE);
    for (const [index, id] of ids.entries()) {
      const history = await videoHistory(t.app.database.db, id);
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
    const [row] = await t.app.database.db.select().from(videos).where(eq(videos.id, id));
    expect(row).toMatchObject({ playCount: servedCounts(0, 2).playCount, collectCount: servedCounts(0, 2).collectCount });
  });

  it('prints the series as a table and as JSON', async () => {
    const id = catalogueIds(HASHTAG, 1)[0]!;
    const [epoch1, epoch2] = [servedCounts(0, 1), servedCounts(0, 2)];
    const number = (value: number) => value.toLocaleString('en-US');

    const table = await runCli(['history', id], t.cliEnv());
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n').filter((line) => /^│ \d{4}-/.test(line));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`│ ${runs[0]!.id}\\s+│ ${number(epoch1.playCount)}\\s+│ ${number(epoch1.diggCount)}\\s+│`));
    expect(rows[1]).toMatch(new RegExp(`│ ${runs[1]!.id}\\s+│ ${number(epoch2.playCount)}\\s+│ ${number(epoch2.diggCount)}\\s+│`));

    const json = await runCli(['history', id, '--json'], t.cliEnv());
    const series = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(series.map((snapshot) => [snapshot.runId, snapshot.plays, snapshot.saves])).toEqual([
      [runs[0]!.id, epoch1.playCount, epoch1.collectCount],
      [runs[1]!.id, epoch2.playCount, epoch2.collectCount],
    ]);
    expect(Date.parse(String(series[0]!.capturedAt))).not.toBeNaN();
  });

  it('refuses a video id the archive never saw with one line', async () => {
    const result = await runCli(['history', '7000000000000000001'], t.cliEnv());
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      "error: video 7000000000000000001 is not in the archive; give the id of an archived video (see 'hashtag-archiver stats <hashtagId>')",
    ]);
  });
});
