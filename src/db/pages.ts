import { and, eq, sql, type Placeholder, type SQL } from 'drizzle-orm';
import type pg from 'pg';
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
  /** See crawl_pages.log_id and fatal_item_ids. */
  logId: string | null;
  fatalItemIds: string[] | null;
  keyFingerprint: string;
  /** The charge's id from when the answer arrived: the ledger records it once, whoever writes it first. */
  chargeId: string;
  chargedAt: Date;
  /** Already deduplicated by id. */
  rows: VideoColumns[];
  /** The items under `data.itemList` as a binary jsonb parameter (see itemsJsonbForPostgres): each row's `raw` is taken from it by id. */
  itemsJson: Buffer;
  credits: number;
  /** Whether to go on is decided once the page's new videos are known, inside the transaction. */
  decide: (newItems: number) => Decision;
}

/** The run a completed pass started (see crawl --passes), for its first page job. */
export interface NextPass {
  id: number;
  hashtagId: string;
  generation: number;
}

export type PageCommitResult =
  | { committed: true; newItems: number; decision: Decision; nextPass: NextPass | null }
  | { committed: false; existing: CrawlPage };

/**
 * Stores one fetched page as one transaction: the page row first (so a second commit of the same
 * page waits on its primary key, then backs off without touching anything), then the videos with
 * their snapshots and hashtag links, then the page's outcome, the ledger entry and the run's
 * counters — and, when the run has reached its last page and every page before it is in, its
 * final status.
 *
 * The whole page travels as a single jsonb parameter expanded by Postgres, so the
 * 65,534-parameter limit never applies whatever the page size, and Node builds no placeholders.
 * Every statement is named, so each connection parses and plans it once, not once a page: that
 * was ~1 ms of Postgres's ~6 ms a page. Behind a pooler in transaction mode that cannot carry
 * prepared statements they go unnamed (`db.$namedStatements`).
 */
export async function commitPage(db: Db, page: PageCommit): Promise<PageCommitResult> {
  const statement = db.$namedStatements ? named : unnamed;
  const outcome = await inTransaction(db.$client, async (client) => {
    const inserted = await client.query({
      ...statement(INSERT_PAGE),
      values: [page.runId, page.pageNumber, page.cursor, page.hasMore, page.rows.length, page.logId, page.fatalItemIds],
    });
    if (inserted.rowCount === 0) return null;

    const newItems = page.rows.length === 0 ? 0 : await upsertVideos(client, statement, page);
    const decision = page.decide(newItems);
    await client.query({
      ...statement(RECORD_OUTCOME),
      values: [
        newItems,
        decision.kind === 'continue' ? decision.nextCursor : null,
        decision.kind === 'stop' ? decision.reason : null,
        decision.emptyStreak,
        decision.staleStreak,
        page.runId,
        page.pageNumber,
        page.keyFingerprint,
        page.hashtagId,
        page.credits,
        page.rows.length,
        page.chargeId,
        page.chargedAt,
      ],
    });
    // Pages may commit out of order (see decidesBeforeCommit): any of them may be the last one in.
    const completion = await client.query<{ id: number; hashtag_id: string; generation: number }>({ ...statement(COMPLETE_IF_WHOLE), values: [page.runId] });
    const next = completion.rows[0];
    const nextPass = next ? { id: next.id, hashtagId: next.hashtag_id, generation: next.generation } : null;
    return { committed: true as const, newItems, decision, nextPass };
  });
  if (outcome) return outcome;
  // Our insert waited on the other commit's primary key, so its page row is committed by now.
  const existing = await findPage(db, page.runId, page.pageNumber);
  if (!existing) throw new Error(`crawl_pages row ${page.runId}/${page.pageNumber} vanished during commit`);
  return { committed: false, existing };
}

/** BEGIN … COMMIT on one pooled connection; a connection that cannot even roll back is discarded. */
async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (err) {
    const broken = await client.query('ROLLBACK').then(
      () => false,
      () => true,
    );
    client.release(broken);
    throw err;
  }
}

interface Statement {
  name: string;
  text: string;
}

/** Named: Postgres parses and plans it once per connection. */
const named = (statement: Statement): Statement => statement;
/** Unnamed: parsed each time, but it survives a pooler handing each transaction another server connection. */
const unnamed = ({ text }: Statement): { text: string } => ({ text });

const INSERT_PAGE = {
  name: 'page_insert',
  text: `INSERT INTO crawl_pages (run_id, page_number, cursor, has_more, item_count, log_id, fatal_item_ids)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING run_id`,
};

/**
 * The page's outcome, its ledger entry and the run's counters in one round trip. The charge may be
 * in the ledger already (flushed from Redis while the commit waited out an outage, or as uncertain
 * while its worker was taken for dead): then it is not counted again, only made certain.
 */
const RECORD_OUTCOME = {
  name: 'page_outcome',
  text: `WITH page AS (
      UPDATE crawl_pages SET new_items = $1, next_cursor = $2::text, stop_reason = $3::text, empty_streak = $4, stale_streak = $5
      WHERE run_id = $6 AND page_number = $7
    ), charge AS (
      INSERT INTO credit_ledger (charge_id, key_fingerprint, endpoint, hashtag_id, run_id, credits, charged_at)
      VALUES ($12, $8, 'hashtags', $9, $6, $10, $13)
      ON CONFLICT (charge_id) DO UPDATE SET uncertain = false WHERE credit_ledger.uncertain
      RETURNING credits, xmax = 0 AS inserted
    )
    UPDATE crawl_runs SET pages = pages + 1, items = items + $11, new_items = new_items + $1,
      credits = credits + coalesce((SELECT credits FROM charge WHERE inserted), 0)
    WHERE id = $6`,
};

/**
 * Completes a live run once its stopping page and every page before it are committed. Runs after
 * the counters' UPDATE, which holds the run's row lock until commit: this statement's snapshot
 * then sees every page committed before ours, so of two pages racing to be last, the later
 * one finds the run whole. A paused or cancelled run keeps its status.
 *
 * What a completion implies rides in the same statement, so it happens exactly once and with it:
 * - a full run that reached the feed's end marks the hashtag's videos it did not list (not seen
 *   since it started, and not among its pages' fatal items, which were listed but not loaded) as
 *   missing_since now; rows are never deleted, and a later sighting clears the mark;
 * - a pass of `crawl --passes N` starts the next pass, unless it was the last or added fewer
 *   new videos than min_new_ratio × the videos archived for the hashtag before it. The new run is
 *   returned for its first page job (the reconciler adds it should this process die first).
 */
const COMPLETE_IF_WHOLE = {
  name: 'page_complete_run',
  text: `WITH done AS (
      UPDATE crawl_runs r SET status = 'completed', stop_reason = last.stop_reason, finished_at = now()
      FROM crawl_pages last
      WHERE r.id = $1 AND last.run_id = $1 AND last.stop_reason IS NOT NULL
        AND r.status IN ('queued', 'running') AND r.pages = last.page_number + 1
      RETURNING r.*
    ), gone AS (
      UPDATE hashtag_videos hv SET missing_since = now()
      FROM done
      WHERE done.mode = 'full' AND done.stop_reason = 'end' AND hv.hashtag_id = done.hashtag_id
        AND hv.missing_since IS NULL AND hv.last_seen_at < coalesce(done.started_at, done.created_at)
        AND hv.video_id NOT IN (SELECT unnest(fatal_item_ids) FROM crawl_pages WHERE run_id = $1 AND fatal_item_ids IS NOT NULL)
    ), next_pass AS (
      INSERT INTO crawl_runs (hashtag_id, mode, trigger, pass_group, pass_number, passes, min_new_ratio)
      SELECT done.hashtag_id, done.mode, done.trigger, done.pass_group, done.pass_number + 1, done.passes, done.min_new_ratio
      FROM done
      WHERE done.pass_number < done.passes
        AND done.new_items >= coalesce(done.min_new_ratio, 0)
          * ((SELECT count(*) FROM hashtag_videos WHERE hashtag_id = done.hashtag_id) - done.new_items)
      RETURNING id, hashtag_id, generation
    )
    SELECT id, hashtag_id, generation FROM next_pass`,
};

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
async function upsertVideos(client: pg.PoolClient, statement: (statement: Statement) => { text: string }, page: PageCommit): Promise<number> {
  const result = await client.query<{ new_items: number }>({
    ...statement(UPSERT_VIDEOS),
    values: [page.itemsJson, JSON.stringify(page.rows), page.runId, page.hashtagId],
  });
  return result.rows[0]?.new_items ?? 0;
}

const UPSERT_VIDEOS = {
  name: 'page_upsert_videos',
  text: `WITH items AS (
      SELECT DISTINCT ON (item ->> 'id') item ->> 'id' AS id, item AS raw
      FROM jsonb_array_elements($1::jsonb -> 'data' -> 'itemList') WITH ORDINALITY AS listed(item, position)
      WHERE jsonb_typeof(item -> 'id') = 'string'
      ORDER BY item ->> 'id', position DESC
    ), upserted AS (
      INSERT INTO videos (id, author_id, author_unique_id, description, create_time,
        play_count, digg_count, comment_count, share_count, collect_count, music_id, raw, first_seen_at, last_seen_at)
      SELECT r.id, r.author_id, r.author_unique_id, r.description, r.create_time,
        r.play_count, r.digg_count, r.comment_count, r.share_count, r.collect_count, r.music_id, items.raw, now(), now()
      FROM jsonb_to_recordset($2::jsonb) AS r(id text, author_id text, author_unique_id text,
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
      SELECT id, $3::int, play_count, digg_count, comment_count, share_count, collect_count FROM upserted
    ), links AS (
      INSERT INTO hashtag_videos (hashtag_id, video_id, run_id, last_run_id, first_seen_at, last_seen_at)
      SELECT $4::text, id, $3::int, $3::int, now(), now() FROM upserted
      ON CONFLICT (hashtag_id, video_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_run_id = excluded.last_run_id, missing_since = NULL
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS new_items FROM links`,
};

export async function findPage(db: Pick<Db, 'select'>, runId: number, pageNumber: number): Promise<CrawlPage | undefined> {
  const [row] = await db
    .select()
    .from(crawlPages)
    .where(and(eq(crawlPages.runId, runId), eq(crawlPages.pageNumber, pageNumber)))
    .limit(1);
  return row;
}

/**
 * A page job's starting point in one round trip: its run, and its page when already committed.
 * Every page job starts with it, so it is prepared once per connection, which skips Postgres's
 * parse and plan, unless statements must stay unnamed.
 */
export async function findRunAndPage(db: Db, runId: number, pageNumber: number): Promise<{ run: CrawlRun; page: CrawlPage | null } | undefined> {
  const [row] = db.$namedStatements ? await runAndPageQuery(db).execute({ runId, pageNumber }) : await runAndPage(db, runId, pageNumber);
  return row;
}

const runAndPageQueries = new WeakMap<Db, ReturnType<typeof prepareRunAndPage>>();

function runAndPageQuery(db: Db): ReturnType<typeof prepareRunAndPage> {
  let query = runAndPageQueries.get(db);
  if (!query) runAndPageQueries.set(db, (query = prepareRunAndPage(db)));
  return query;
}

function prepareRunAndPage(db: Db) {
  return runAndPage(db, sql.placeholder('runId'), sql.placeholder('pageNumber')).prepare('find_run_and_page');
}

function runAndPage(db: Db, runId: number | Placeholder, pageNumber: number | Placeholder) {
  return db
    .select({ run: crawlRuns, page: crawlPages })
    .from(crawlRuns)
    .leftJoin(crawlPages, and(eq(crawlPages.runId, crawlRuns.id), eq(crawlPages.pageNumber, pageNumber)))
    .where(eq(crawlRuns.id, runId))
    .limit(1);
}
