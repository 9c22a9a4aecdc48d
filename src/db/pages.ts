import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Db } from './client.js';
import { crawlPages, crawlRuns, type CrawlPage, type CrawlRun } from './schema.js';
import type { VideoColumns } from './video-row.js';
import type { Decision } from '../queue/decide.js';

export interface PageCommit {
  runId: number;
  hashtagId: string;
  pageNumber: number;
  cursor: string;
  hasMore: boolean;
  keyFingerprint: string;
  /** Already deduplicated by id. */
  rows: VideoColumns[];
  /** The items under `data.itemList` as a binary jsonb parameter (see itemsJsonbForPostgres): each row's `raw` is taken from it by id. */
  itemsJson: Buffer;
  credits: number;
  /** Whether to go on is decided once the page's new videos are known, inside the transaction. */
  decide: (newItems: number) => Decision;
}

export type PageCommitResult = { committed: true; newItems: number; decision: Decision } | { committed: false; existing: CrawlPage };

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * Stores one fetched page as one transaction: the page row first (so a second commit of the same
 * page waits on its primary key, then backs off without touching anything), then the videos with
 * their snapshots and hashtag links, then the page's outcome, the ledger entry and the run's
 * counters — and, when the run has reached its last page and every page before it is in, its
 * final status.
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
    // The page's outcome, its ledger entry and the run's counters in one round trip.
    await tx.execute(sql`
      WITH page AS (
        UPDATE crawl_pages SET
          new_items = ${newItems}, next_cursor = ${decision.kind === 'continue' ? decision.nextCursor : null}::text,
          stop_reason = ${stopReason}::text, empty_streak = ${decision.emptyStreak}, stale_streak = ${decision.staleStreak}
        WHERE run_id = ${page.runId} AND page_number = ${page.pageNumber}
      ), charge AS (
        INSERT INTO credit_ledger (key_fingerprint, endpoint, hashtag_id, run_id, credits)
        VALUES (${page.keyFingerprint}, 'hashtags', ${page.hashtagId}, ${page.runId}, ${page.credits})
      )
      UPDATE crawl_runs SET
        pages = pages + 1, items = items + ${page.rows.length}, new_items = new_items + ${newItems},
        credits = credits + ${page.credits}
      WHERE id = ${page.runId}`);
    // Pages may commit out of order (see decidesBeforeCommit): any of them may be the last one in.
    await completeIfWhole(tx, page.runId);
    return { committed: true as const, newItems, decision };
  });
}

/**
 * Completes a live run once its stopping page and every page before it are committed. Runs after
 * the counters' UPDATE, which holds the run's row lock until commit: this statement's snapshot
 * then sees every page committed before ours, so of two pages racing to be last, the later
 * one finds the run whole. A paused or cancelled run keeps its status.
 */
async function completeIfWhole(tx: Tx, runId: number): Promise<void> {
  await tx.execute(sql`
    UPDATE crawl_runs r SET status = 'completed', stop_reason = last.stop_reason, finished_at = now()
    FROM crawl_pages last
    WHERE r.id = ${runId} AND last.run_id = ${runId} AND last.stop_reason IS NOT NULL
      AND r.status IN ('queued', 'running') AND r.pages = last.page_number + 1`);
}

/**
 * The first page number of the run not committed yet: the page after the unbroken stretch of
 * committed pages from page 0. Pages past a gap can exist when the page before them failed while
 * they were fetched and committed alongside it.
 */
export function firstMissingPage(runId: SQL): SQL {
  return sql`(SELECT min(c.n) FROM (SELECT 0 AS n UNION ALL SELECT page_number + 1 FROM crawl_pages WHERE run_id = ${runId}) c
    WHERE NOT EXISTS (SELECT 1 FROM crawl_pages q WHERE q.run_id = ${runId} AND q.page_number = c.n))`;
}

/**
 * Videos, their stats snapshots and their links to the hashtag in one statement, so the page's
 * JSON is parsed once and travels once. Each item's `raw` is its last occurrence in the page, as
 * the rows were deduplicated. Returns how many videos were new to this hashtag: xmax = 0 only on
 * a freshly inserted row.
 */
async function upsertVideos(tx: Tx, page: PageCommit): Promise<number> {
  const result = await tx.execute<{ new_items: number }>(sql`
    WITH items AS (
      SELECT DISTINCT ON (item ->> 'id') item ->> 'id' AS id, item AS raw
      FROM jsonb_array_elements(${page.itemsJson}::jsonb -> 'data' -> 'itemList') WITH ORDINALITY AS listed(item, position)
      WHERE jsonb_typeof(item -> 'id') = 'string'
      ORDER BY item ->> 'id', position DESC
    ), upserted AS (
      INSERT INTO videos (id, author_id, author_unique_id, description, create_time,
        play_count, digg_count, comment_count, share_count, collect_count, music_id, raw, first_seen_at, last_seen_at)
      SELECT r.id, r.author_id, r.author_unique_id, r.description, r.create_time,
        r.play_count, r.digg_count, r.comment_count, r.share_count, r.collect_count, r.music_id, items.raw, now(), now()
      FROM jsonb_to_recordset(${JSON.stringify(page.rows)}::jsonb) AS r(id text, author_id text, author_unique_id text,
        description text, create_time timestamptz, play_count bigint, digg_count bigint, comment_count bigint,
        share_count bigint, collect_count bigint, music_id text)
      JOIN items ON items.id = r.id
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

/** A page job's starting point in one round trip: its run, and its page when already committed. */
export async function findRunAndPage(db: Db, runId: number, pageNumber: number): Promise<{ run: CrawlRun; page: CrawlPage | null } | undefined> {
  const [row] = await runAndPageQuery(db).execute({ runId, pageNumber });
  return row;
}

const runAndPageQueries = new WeakMap<Db, ReturnType<typeof prepareRunAndPage>>();

/** Every page job starts with this query: prepared once per connection, it skips Postgres's parse and plan. */
function runAndPageQuery(db: Db): ReturnType<typeof prepareRunAndPage> {
  let query = runAndPageQueries.get(db);
  if (!query) runAndPageQueries.set(db, (query = prepareRunAndPage(db)));
  return query;
}

function prepareRunAndPage(db: Db) {
  return db
    .select({ run: crawlRuns, page: crawlPages })
    .from(crawlRuns)
    .leftJoin(crawlPages, and(eq(crawlPages.runId, crawlRuns.id), eq(crawlPages.pageNumber, sql.placeholder('pageNumber'))))
    .where(eq(crawlRuns.id, sql.placeholder('runId')))
    .limit(1)
    .prepare('find_run_and_page');
}
