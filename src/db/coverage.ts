import { sql } from 'drizzle-orm';
import { coverageOf, type Coverage } from '../coverage/coverage.js';
import { estimateTotal, type Sightings } from '../coverage/estimate.js';
import type { Db } from './client.js';

interface CoverageRow extends Record<string, unknown> {
  reported: string | null;
  archived: number;
  missing: number;
  fatal_items: number;
  last_pages: number | null;
  last_stop_reason: string | null;
  last_status: string | null;
  pass_group: number | null;
}

interface PassRow extends Record<string, unknown> {
  id: number;
  credits: number;
  new_items: number;
}

/** What the archive holds of a hashtag against what it reports (see Coverage). Reads only: never spends credits. */
export async function hashtagCoverage(db: Db, hashtagId: string): Promise<Coverage> {
  const { rows } = await db.execute<CoverageRow>(sql`
    SELECT
      (SELECT video_count FROM hashtags WHERE id = ${hashtagId}) AS reported,
      (SELECT count(*)::int FROM hashtag_videos WHERE hashtag_id = ${hashtagId}) AS archived,
      (SELECT count(*)::int FROM hashtag_videos WHERE hashtag_id = ${hashtagId} AND missing_since IS NOT NULL) AS missing,
      (SELECT count(DISTINCT f.id)::int
         FROM crawl_runs r JOIN crawl_pages p ON p.run_id = r.id CROSS JOIN LATERAL unnest(p.fatal_item_ids) AS f(id)
         WHERE r.hashtag_id = ${hashtagId}
           AND NOT EXISTS (SELECT 1 FROM hashtag_videos hv WHERE hv.hashtag_id = ${hashtagId} AND hv.video_id = f.id)) AS fatal_items,
      last.pages AS last_pages, last.stop_reason AS last_stop_reason, last.status AS last_status,
      (SELECT pass_group FROM crawl_runs WHERE hashtag_id = ${hashtagId} AND pass_group IS NOT NULL ORDER BY id DESC LIMIT 1) AS pass_group
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT pages, stop_reason, status FROM crawl_runs WHERE hashtag_id = ${hashtagId} ORDER BY id DESC LIMIT 1) last ON true`);
  const row = rows[0]!;
  const passes = row.pass_group === null ? [] : await completedPasses(db, row.pass_group);
  const last = passes.at(-1);
  return coverageOf({
    reported: row.reported === null ? null : Number(row.reported),
    archived: row.archived,
    fatalItems: row.fatal_items,
    missing: row.missing,
    estimatedTotal: passes.length < 2 ? null : estimateTotal(await passSightings(db, hashtagId, passes)),
    lastRun: row.last_status === null ? null : { pages: row.last_pages ?? 0, stopReason: row.last_stop_reason, status: row.last_status },
    lastPass: last ? { credits: last.credits, newItems: last.new_items } : null,
  });
}

async function completedPasses(db: Db, passGroup: number): Promise<PassRow[]> {
  const { rows } = await db.execute<PassRow>(sql`
    SELECT id, credits, new_items FROM crawl_runs WHERE pass_group = ${passGroup} AND status = 'completed' ORDER BY pass_number`);
  return rows;
}

/**
 * In how many of these passes each of the hashtag's videos was seen: every sighting is a
 * video_snapshots row of its run. Looked up video by video through the snapshots' video index,
 * so the cost follows the hashtag's size, not the whole table's.
 */
async function passSightings(db: Db, hashtagId: string, passes: PassRow[]): Promise<Sightings> {
  const runIds = sql.join(passes.map((pass) => sql`${pass.id}::int`), sql`, `);
  const { rows } = await db.execute<{ k: number; videos: number }>(sql`
    SELECT k, count(*)::int AS videos FROM (
      SELECT (SELECT count(DISTINCT s.run_id) FROM video_snapshots s WHERE s.video_id = hv.video_id AND s.run_id IN (${runIds}))::int AS k
      FROM hashtag_videos hv WHERE hv.hashtag_id = ${hashtagId}
    ) seen WHERE k > 0 GROUP BY k`);
  const frequencies = Array.from({ length: passes.length + 1 }, () => 0);
  for (const { k, videos } of rows) frequencies[k] = videos;
  return { passes: passes.length, frequencies };
}

/**
 * Coverage beside the newest run of each hashtag among these runs (newest first, as listed):
 * what `runs` and the dashboard show, once per hashtag.
 */
export async function coverageOfLatestRuns(db: Db, runs: ReadonlyArray<{ id: number; hashtagId: string }>): Promise<Map<number, Coverage>> {
  const latest = new Map<string, number>();
  for (const run of runs) if ((latest.get(run.hashtagId) ?? -1) < run.id) latest.set(run.hashtagId, run.id);
  const entries = await Promise.all([...latest].map(async ([hashtagId, runId]) => [runId, await hashtagCoverage(db, hashtagId)] as const));
  return new Map(entries);
}
