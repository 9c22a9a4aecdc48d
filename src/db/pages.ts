import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { crawlPages, type CrawlPage } from './schema.js';
import type { VideoRow } from './video-row.js';
import type { Decision } from '../queue/decide.js';

export interface PageCommit {
  runId: number;
  hashtagId: string;
  pageNumber: number;
  cursor: string;
  hasMore: boolean;
  keyFingerprint: string;
  /** Already deduplicated by id. */
  rows: VideoRow[];
  credits: number;
  /** Whether to go on is decided once the page's new videos are known, inside the transaction. */
  decide: (newItems: number) => Decision;
}

export type PageCommitResult = { committed: true; newItems: number; decision: Decision } | { committed: false; existing: CrawlPage };

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Stores one fetched page as one transaction of three statements: the page row first (so a
 * second commit of the same page waits on its primary key, then backs off without touching
 * anything), then the videos with their snapshots and hashtag links, then the page's outcome,
 * the ledger entry and the run's counters — and, when this page ends the run, its final status.
 *
 * The whole page travels as a single jsonb parameter expanded by Postgres, so the
 * 65,534-parameter limit never applies whatever the page size, and Node builds no placeholders.
 */
export async function commitPage(db: Db, page: PageCommit): Promise<PageCommitResult> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(crawlPages)
      .values({ runId: page.runId, pageNumber: page.pageNumber, cursor: page.cursor, hasMore: page.hasMore, itemCount: page.rows.length })
      .onConflictDoNothing()
      .returning({ runId: crawlPages.runId });
    if (inserted.length === 0) {
      const existing = await findPage(tx, page.runId, page.pageNumber);
      if (!existing) throw new Error(`crawl_pages row ${page.runId}/${page.pageNumber} vanished during commit`);
      return { committed: false as const, existing };
    }

    const newItems = page.rows.length === 0 ? 0 : await upsertVideos(tx, page);
    const decision = page.decide(newItems);
    const stopReason = decision.kind === 'stop' ? decision.reason : null;
    const stopping = stopReason !== null;
    // The page's outcome, its ledger entry and the run's counters in one round trip. A run paused
    // or cancelled meanwhile keeps that status: only a live run completes.
    await tx.execute(sql`
      WITH page AS (
        UPDATE crawl_pages SET
          new_items = ${newItems}, next_cursor = ${decision.kind === 'continue' ? decision.nextCursor : null}::text,
          empty_streak = ${decision.emptyStreak}, stale_streak = ${decision.staleStreak}
        WHERE run_id = ${page.runId} AND page_number = ${page.pageNumber}
      ), charge AS (
        INSERT INTO credit_ledger (key_fingerprint, endpoint, hashtag_id, run_id, credits)
        VALUES (${page.keyFingerprint}, 'hashtags', ${page.hashtagId}, ${page.runId}, ${page.credits})
      )
      UPDATE crawl_runs SET
        pages = pages + 1, items = items + ${page.rows.length}, new_items = new_items + ${newItems},
        credits = credits + ${page.credits},
        status = CASE WHEN ${stopping} AND status IN ('queued', 'running') THEN 'completed' ELSE status END,
        stop_reason = CASE WHEN ${stopping} THEN ${stopReason}::text ELSE stop_reason END,
        finished_at = CASE WHEN ${stopping} AND status IN ('queued', 'running') THEN now() ELSE finished_at END
      WHERE id = ${page.runId}`);
    return { committed: true as const, newItems, decision };
  });
}

/**
 * Videos, their stats snapshots and their links to the hashtag in one statement, so the page's
 * JSON is parsed once and travels once. Returns how many videos were new to this hashtag:
 * xmax = 0 only on a freshly inserted row.
 */
async function upsertVideos(tx: Tx, page: PageCommit): Promise<number> {
  const result = await tx.execute<{ new_items: number }>(sql`
    WITH upserted AS (
      INSERT INTO videos (id, author_id, author_unique_id, description, create_time,
        play_count, digg_count, comment_count, share_count, collect_count, music_id, raw, first_seen_at, last_seen_at)
      SELECT r.id, r.author_id, r.author_unique_id, r.description, r.create_time,
        r.play_count, r.digg_count, r.comment_count, r.share_count, r.collect_count, r.music_id, r.raw, now(), now()
      FROM jsonb_to_recordset(${JSON.stringify(page.rows)}::jsonb) AS r(id text, author_id text, author_unique_id text,
        description text, create_time timestamptz, play_count bigint, digg_count bigint, comment_count bigint,
        share_count bigint, collect_count bigint, music_id text, raw jsonb)
      ON CONFLICT (id) DO UPDATE SET
        author_id = excluded.author_id, author_unique_id = excluded.author_unique_id,
        description = excluded.description, create_time = excluded.create_time,
        play_count = excluded.play_count, digg_count = excluded.digg_count, comment_count = excluded.comment_count,
        share_count = excluded.share_count, collect_count = excluded.collect_count, music_id = excluded.music_id,
        raw = excluded.raw, last_seen_at = excluded.last_seen_at
      RETURNING id, play_count, digg_count, comment_count, share_count, collect_count
    ), snapshots AS (
      INSERT INTO video_snapshots (video_id, run_id, play_count, digg_count, comment_count, share_count, collect_count)
      SELECT id, ${page.runId}::int, play_count, digg_count, comment_count, share_count, collect_count FROM upserted
    ), links AS (
      INSERT INTO hashtag_videos (hashtag_id, video_id, run_id, last_run_id, first_seen_at, last_seen_at)
      SELECT ${page.hashtagId}, id, ${page.runId}::int, ${page.runId}::int, now(), now() FROM upserted
      ON CONFLICT (hashtag_id, video_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_run_id = excluded.last_run_id
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS new_items FROM links`);
  return result.rows[0]?.new_items ?? 0;
}

export async function findPage(db: Pick<Db, 'select'>, runId: number, pageNumber: number): Promise<CrawlPage | undefined> {
  const [row] = await db
    .select()
    .from(crawlPages)
    .where(and(eq(crawlPages.runId, runId), eq(crawlPages.pageNumber, pageNumber)))
    .limit(1);
  return row;
}
