import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { catalogueIds, catalogueItem } from '../src/sim/catalogue.js';
import { createdAtMs, toVideoColumns } from '../src/db/video-row.js';
import { useCrawlEnvironment } from './support/environment.js';
import { archivedIds, crawlAndWait } from './support/runs.js';

const HASHTAGS = ['5101', '5102', '5103', '5104', '5105', '5106'];
const t = useCrawlEnvironment({
  sim: { itemsPerHashtag: 90, hashtags: Object.fromEntries(HASHTAGS.map((id) => [id, { createTimeMsEvery: 9 }])) },
});

describe('createTime in seconds or milliseconds', () => {
  it('reads the unit by magnitude: any moment from 1973 to 5138, in seconds or milliseconds, is the same time', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100_000_000, max: 99_999_999_999 }), (seconds) => {
        expect(createdAtMs({ id: '1', createTime: seconds })).toBe(seconds * 1000);
        expect(createdAtMs({ id: '1', createTime: String(seconds * 1000) })).toBe(seconds * 1000);
      }),
    );
    expect(createdAtMs({ id: '1', createTime: 1e15 })).toBeNull();
    expect(toVideoColumns({ id: '1', createTime: 1_700_000_000_123 }).create_time).toBe('2023-11-14T22:13:20.123Z');
  });

  it('a crawl where one item in nine has its createTime in milliseconds archives every item, with the right times', async () => {
    const runs = await crawlAndWait(t.app, HASHTAGS);
    expect(runs.map((run) => run.status)).toEqual(HASHTAGS.map(() => 'completed'));
    for (const hashtagId of HASHTAGS) expect(await archivedIds(t.app.database.db, hashtagId)).toEqual(catalogueIds(hashtagId, 90).sort());
    expect(t.sim.stats().pageRequests.filter((request) => request.status === 200)).toHaveLength(HASHTAGS.length * 3);
    // Item 9 (index 8) came in milliseconds; it is stored as the same moment as in seconds.
    const [row] = (
      await t.app.database.db.execute<{ ms: number }>(sql`select (extract(epoch from create_time) * 1000)::bigint as ms from videos where id = ${catalogueIds('5101', 90)[8]!}`)
    ).rows;
    expect(Number(row!.ms)).toBe(Number(catalogueItem('5101', 8, 1, true).createTime) * 1000);
  });
});
