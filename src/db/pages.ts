import { and, eq, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { crawlPages, type CrawlPage } from './schema.js';
import { recordCharge } from './ledger.js';
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
 * Stores one fetched page as one transaction: the page row first (so a second commit of the
 * same page waits on its primary key, then backs off without touching anything), then the
 * videos and their hashtag links as one statement each, the ledger entry, and the run's
 * counters and, when this page ends the run, its final status.
 *
 * The whole page travels as a single jsonb parameter expanded by Postgres, so the
 * 65,534-parameter limit never applies whatever the page size, and Node builds no placeholders.
 */
export async function commitPage(db: Db, page: PageCommit): Promise<PageCommitResult> {
  return db.transaction(async (tx) => {
    const pageKey = and(eq(crawlPages.runId, page.runId), eq(crawlPages.pageNumber, page.pageNumber));
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
    await tx
      .update(crawlPages)
      .set({
        newItems,
        nextCursor: decision.kind === 'continue' ? decision.nextCursor : null,
        emptyStreak: decision.emptyStreak,
        staleStreak: decision.staleStreak,
      })
      .where(pageKey);
    await recordCharge(tx, {
      keyFingerprint: page.keyFingerprint,
      endpoint: 'hashtags',
      hashtagId: page.hashtagId,
      runId: page.runId,
      credits: page.credits,
    });
    const stopping = stopReason !== null;
    // A run paused or cancelled meanwhile keeps that status: only a live run completes.
    await tx.execute(sql`
      UPDATE crawl_runs SET
        pages = pages + 1, items = items + ${page.rows.length}, new_items = new_items + ${newItems},
        status = CASE WHEN ${stopping} AND status IN ('queued', 'running') THEN 'completed' ELSE status END,
        stop_reason = CASE WHEN ${stopping} THEN ${stopReason}::text ELSE stop_reason END,
        finished_at = CASE WHEN ${stopping} AND status IN ('queued', 'running') THEN now() ELSE finished_at END
      WHERE id = ${page.runId}`);
    return { committed: true as const, newItems, decision };
  });
}

/** Returns how many of the page's videos were new to this hashtag. */
async function upsertVideos(tx: Tx, page: PageCommit): Promise<number> {
  // The videos upsert feeds the stats history in the same statement: one snapshot per sighting,
  // and the page's JSON is parsed once.
  await tx.execute(sql`
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
    )
    INSERT INTO video_snapshots (video_id, run_id, play_count, digg_count, comment_count, share_count, collect_count)
    SELECT id, ${page.runId}::int, play_count, digg_count, comment_count, share_count, collect_count FROM upserted`);
  // xmax = 0 only on a freshly inserted row: that is how the run counts videos new to this hashtag.
  const result = await tx.execute<{ new_items: number }>(sql`
    WITH upserted AS (
      INSERT INTO hashtag_videos (hashtag_id, video_id, run_id, last_run_id, first_seen_at, last_seen_at)
      SELECT ${page.hashtagId}, ids.id, ${page.runId}::int, ${page.runId}::int, now(), now()
      FROM jsonb_array_elements_text(${JSON.stringify(page.rows.map((row) => row.id))}::jsonb) AS ids(id)
      ON CONFLICT (hashtag_id, video_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_run_id = excluded.last_run_id
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS new_items FROM upserted`);
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
