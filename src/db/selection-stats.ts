import type pg from 'pg';
import { selectionCondition, describeSelection, type Selection } from '../selection/selection.js';
import { SqlParams } from '../selection/sql-params.js';
import type { Db } from './client.js';
import { runsSummary, TOP_VIDEOS, type HashtagStats } from './hashtag-stats.js';

/** `stats --match`: the figures of `stats <hashtag>` over a selection, each video counted once. */
export interface SelectionStats extends Omit<HashtagStats, 'hashtagId' | 'coverage'> {
  selection: ReturnType<typeof describeSelection>;
}

/**
 * `runHashtagIds`: whose runs to summarise (the hashtags given, or those the expression names).
 * One snapshot: the figures and the top videos come from the same statement's view. `pool` is
 * the one `db` reads from (a replica's where one is set).
 */
export async function selectionStats(db: Db, pool: pg.Pool, selection: Selection, runHashtagIds: string[]): Promise<SelectionStats> {
  const params = new SqlParams();
  const where = selectionCondition(selection, params, { hashtagVideos: 'hv', videos: 'v' });
  const { rows } = await pool.query<{ summary: Record<string, unknown>; top: HashtagStats['topVideos'] }>(
    `with selected as (
       select hv.video_id, hv.first_seen_at, hv.last_seen_at from hashtag_videos hv join videos v on v.id = hv.video_id where ${where}
     ), chosen as (
       select v.* from videos v where v.id in (select video_id from selected)
     )
     select
       json_build_object(
         'videos', (select count(*) from chosen),
         'authors', (select count(distinct author_id) from chosen),
         'firstSeenAt', (select min(first_seen_at) from selected),
         'lastSeenAt', (select max(last_seen_at) from selected),
         -- sum(bigint) is numeric: as text, so JSON keeps it whole
         'totalPlays', (select coalesce(sum(play_count), 0)::text from chosen)
       ) as summary,
       coalesce((
         select json_agg(json_build_object('id', id, 'authorUniqueId', author_unique_id, 'playCount', play_count, 'description', description)
                         order by play_count desc nulls last, id)
         from (select * from chosen order by play_count desc nulls last, id limit ${TOP_VIDEOS}) top
       ), '[]'::json) as top`,
    params.values,
  );
  const summary = rows[0]!.summary;
  const time = (value: unknown) => (value === null ? null : new Date(value as string));
  return {
    selection: describeSelection(selection),
    videos: summary.videos as number,
    authors: summary.authors as number,
    firstSeenAt: time(summary.firstSeenAt),
    lastSeenAt: time(summary.lastSeenAt),
    totalPlays: Number(summary.totalPlays),
    topVideos: rows[0]!.top,
    runs: await runsSummary(db, runHashtagIds),
  };
}
