import pg from 'pg';
import { catalogueItemJson } from '../src/sim/catalogue.js';
import type { RawItem } from '../src/crawlora/schema.js';
import { dedupeById, toVideoRow, VIDEO_COLUMN_NAMES, type VideoRow } from '../src/db/video-row.js';
import { ownCpuSeconds, postgresBackendsCpu } from './cpu.js';

/**
 * The Postgres ceiling: the same pages the simulator serves, upserted by a bare loop of
 * batched INSERT … ON CONFLICT, one transaction a page, at a given concurrency. Everything
 * a statement sends is built before the clock starts, so only Postgres and the wire are timed.
 */

export const PAGE_SIZE = 30;

export interface PlannedPage {
  hashtagId: string;
  pageNumber: number;
  rows: VideoRow[];
}

/** Hashtag ids the bench crawls; numeric as Crawlora's are, distinct per bench so runs never share videos. */
export function hashtagIds(count: number, base: number): string[] {
  return Array.from({ length: count }, (_, index) => String(base + index));
}

/**
 * The pages the simulator will serve for these hashtags (quirks on, epoch 1), as the product's
 * rows (parsed, sanitised). A generator: only the encoded form of all pages is kept at once.
 */
export function* plannedPages(hashtags: string[], pagesPerHashtag: number): Generator<PlannedPage> {
  for (const hashtagId of hashtags) {
    for (let pageNumber = 0; pageNumber < pagesPerHashtag; pageNumber++) {
      const items: RawItem[] = [];
      for (let index = pageNumber * PAGE_SIZE; index < (pageNumber + 1) * PAGE_SIZE; index++) {
        items.push(JSON.parse(catalogueItemJson(hashtagId, index, 1, true)) as RawItem);
      }
      yield { hashtagId, pageNumber, rows: dedupeById(items).map(toVideoRow) };
    }
  }
}

export type Shape = 'unnest' | 'jsonb';

/** What one page's statements send, pre-encoded: parameter values are strings pg passes through as they are. */
interface EncodedPage {
  hashtagId: string;
  pageNumber: number;
  items: number;
  /** videos parameters: unnest shape: 12 array literals; jsonb shape: one JSON text. */
  videoParams: string[];
  /** hashtag_videos: the ids, as an array literal or a JSON array. */
  ids: string;
}

const VIDEO_COLUMNS = [...VIDEO_COLUMN_NAMES, 'raw'] as const satisfies ReadonlyArray<keyof VideoRow>;
const ARRAY_TYPES = ['text', 'text', 'text', 'text', 'timestamptz', 'int8', 'int8', 'int8', 'int8', 'int8', 'text', 'jsonb'];

export function encodePages(pages: Iterable<PlannedPage>, shape: Shape): EncodedPage[] {
  return Array.from(pages, (page) => ({
    hashtagId: page.hashtagId,
    pageNumber: page.pageNumber,
    items: page.rows.length,
    videoParams:
      shape === 'jsonb'
        ? [JSON.stringify(page.rows)]
        : VIDEO_COLUMNS.map((column) =>
            arrayLiteral(page.rows.map((row) => (column === 'raw' ? JSON.stringify(row.raw) : (row[column] as string | number | null)))),
          ),
    ids: shape === 'jsonb' ? JSON.stringify(page.rows.map((row) => row.id)) : arrayLiteral(page.rows.map((row) => row.id)),
  }));
}

function arrayLiteral(values: Array<string | number | null>): string {
  return `{${values
    .map((value) => (value === null ? 'NULL' : typeof value === 'number' ? String(value) : `"${value.replace(/[\\"]/g, '\\$&')}"`))
    .join(',')}}`;
}

const UPDATE_VIDEO = `ON CONFLICT (id) DO UPDATE SET
  author_id = excluded.author_id, author_unique_id = excluded.author_unique_id,
  description = excluded.description, create_time = excluded.create_time,
  play_count = excluded.play_count, digg_count = excluded.digg_count, comment_count = excluded.comment_count,
  share_count = excluded.share_count, collect_count = excluded.collect_count, music_id = excluded.music_id,
  raw = excluded.raw, last_seen_at = excluded.last_seen_at`;

const VIDEO_SOURCE: Record<Shape, string> = {
  unnest: `SELECT r.*, now(), now() FROM unnest(${ARRAY_TYPES.map((type, i) => `$${i + 1}::${type}[]`).join(', ')})
    AS r(id, author_id, author_unique_id, description, create_time, play_count, digg_count, comment_count, share_count, collect_count, music_id, raw)`,
  jsonb: `SELECT r.id, r.author_id, r.author_unique_id, r.description, r.create_time, r.play_count, r.digg_count, r.comment_count,
      r.share_count, r.collect_count, r.music_id, r.raw, now(), now()
    FROM jsonb_to_recordset($1::jsonb) AS r(id text, author_id text, author_unique_id text, description text, create_time timestamptz,
      play_count bigint, digg_count bigint, comment_count bigint, share_count bigint, collect_count bigint, music_id text, raw jsonb)`,
};

const INSERT_VIDEOS = `INSERT INTO videos (id, author_id, author_unique_id, description, create_time,
  play_count, digg_count, comment_count, share_count, collect_count, music_id, raw, first_seen_at, last_seen_at)`;

const ID_SOURCE: Record<Shape, (param: string) => string> = {
  unnest: (param) => `unnest(${param}::text[]) AS ids(id)`,
  jsonb: (param) => `jsonb_array_elements_text(${param}::jsonb) AS ids(id)`,
};

/**
 * Named, so each connection parses and plans a statement once, as the product's page transaction
 * does: a ceiling must not pay for planning the crawler no longer pays for.
 */
function named<T extends Record<string, string>>(prefix: string, statements: T): { [K in keyof T]: { name: string; text: string } } {
  return Object.fromEntries(Object.entries(statements).map(([key, text]) => [key, { name: `${prefix}_${key}`, text }])) as {
    [K in keyof T]: { name: string; text: string };
  };
}

/** videos + hashtag_videos only, as the issue specifies the ceiling. */
function minimalStatements(shape: Shape) {
  return named(`raw_${shape}`, {
    videos: `${INSERT_VIDEOS} ${VIDEO_SOURCE[shape]} ${UPDATE_VIDEO}`,
    links: `INSERT INTO hashtag_videos (hashtag_id, video_id, first_seen_at, last_seen_at)
      SELECT $1, ids.id, now(), now() FROM ${ID_SOURCE[shape]('$2')}
      ON CONFLICT (hashtag_id, video_id) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
  });
}

/** Every table the product's page transaction writes, in as few statements as plain SQL allows. */
function fullStatements(shape: Shape) {
  const n = shape === 'jsonb' ? 1 : ARRAY_TYPES.length;
  return named(`full_${shape}`, {
    page: `INSERT INTO crawl_pages (run_id, page_number, cursor, next_cursor, has_more, item_count, new_items)
      VALUES ($1, $2, $3, $4, true, $5, $5)`,
    videos: `WITH upserted AS (${INSERT_VIDEOS} ${VIDEO_SOURCE[shape]} ${UPDATE_VIDEO}
        RETURNING id, play_count, digg_count, comment_count, share_count, collect_count)
      INSERT INTO video_snapshots (video_id, run_id, play_count, digg_count, comment_count, share_count, collect_count)
      SELECT id, $${n + 1}::int, play_count, digg_count, comment_count, share_count, collect_count FROM upserted`,
    links: `INSERT INTO hashtag_videos (hashtag_id, video_id, run_id, last_run_id, first_seen_at, last_seen_at)
      SELECT $1, ids.id, $3::int, $3::int, now(), now() FROM ${ID_SOURCE[shape]('$2')}
      ON CONFLICT (hashtag_id, video_id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_run_id = excluded.last_run_id`,
    ledger: `INSERT INTO credit_ledger (key_fingerprint, endpoint, hashtag_id, run_id, credits) VALUES ('bench', 'hashtags', $1, $2, 8)`,
    run: `UPDATE crawl_runs SET pages = pages + 1, items = items + $2, new_items = new_items + $2, credits = credits + 8 WHERE id = $1`,
  });
}

export interface RawRunResult {
  pages: number;
  seconds: number;
  /** CPU seconds of the Postgres backends, and of this process (the loop), during the run. */
  postgresCpu: number;
  loopCpu: number;
}

/**
 * Upserts the pages with `concurrency` connections, each taking the next page not yet taken,
 * one transaction a page. `tables: 'full'` also writes what the product's transaction writes
 * (crawl_pages, video_snapshots, credit_ledger, crawl_runs counters).
 */
export async function rawUpsert(databaseUrl: string, encoded: EncodedPage[], shape: Shape, concurrency: number, tables: 'minimal' | 'full'): Promise<RawRunResult> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency });
  pool.on('error', () => {});
  try {
    const clients = await Promise.all(Array.from({ length: concurrency }, () => pool.connect()));
    let runIds = new Map<string, number>();
    if (tables === 'full') runIds = await createRuns(clients[0]!, [...new Set(encoded.map((page) => page.hashtagId))]);
    const minimal = minimalStatements(shape);
    const full = fullStatements(shape);
    let next = 0;
    const databaseName = new URL(databaseUrl).pathname.slice(1);
    const postgresCpuBefore = await postgresBackendsCpu(databaseName);
    const loopCpuBefore = ownCpuSeconds();
    const started = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        for (let index = next++; index < encoded.length; index = next++) {
          const page = encoded[index]!;
          await client.query('BEGIN');
          if (tables === 'minimal') {
            await client.query({ ...minimal.videos, values: page.videoParams });
            await client.query({ ...minimal.links, values: [page.hashtagId, page.ids] });
          } else {
            const runId = runIds.get(page.hashtagId)!;
            const cursor = String(page.pageNumber * PAGE_SIZE);
            await client.query({ ...full.page, values: [runId, page.pageNumber, cursor, String((page.pageNumber + 1) * PAGE_SIZE), page.items] });
            await client.query({ ...full.videos, values: [...page.videoParams, runId] });
            await client.query({ ...full.links, values: [page.hashtagId, page.ids, runId] });
            await client.query({ ...full.ledger, values: [page.hashtagId, runId] });
            await client.query({ ...full.run, values: [runId, page.items] });
          }
          await client.query('COMMIT');
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const loopCpu = ownCpuSeconds() - loopCpuBefore;
    const postgresCpu = (await postgresBackendsCpu(databaseName)) - postgresCpuBefore;
    for (const client of clients) client.release();
    return { pages: encoded.length, seconds, postgresCpu, loopCpu };
  } finally {
    await pool.end();
  }
}

/** Rows per INSERT: 2 parameters each, far below Postgres's 65,534. */
const RUN_CHUNK = 10_000;

async function createRuns(client: pg.PoolClient, hashtags: string[]): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (let start = 0; start < hashtags.length; start += RUN_CHUNK) {
    const chunk = hashtags.slice(start, start + RUN_CHUNK);
    const values = chunk.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ');
    const result = await client.query<{ id: number; hashtag_id: string }>(
      `INSERT INTO crawl_runs (hashtag_id, status) VALUES ${values} RETURNING id, hashtag_id`,
      chunk.flatMap((hashtagId) => [hashtagId, 'running']),
    );
    for (const row of result.rows) ids.set(row.hashtag_id, row.id);
  }
  return ids;
}
