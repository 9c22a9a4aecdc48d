import { Transform, type Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import { VIDEO_COLUMN_NAMES } from './video-row.js';

export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The CSV header: the typed columns of `videos`, led by the hashtag the row was exported for. */
export const CSV_COLUMNS = ['hashtag_id', ...VIDEO_COLUMN_NAMES, 'first_seen_at', 'last_seen_at'] as const;

export interface ExportQuery {
  format: ExportFormat;
  hashtagIds: string[];
  /** Only videos created at or after this; null: all. */
  since: Date | null;
}

/**
 * Rows come a batch at a time from a server-side cursor, and the stream only asks for the next
 * batch once the output has taken the last one, so memory stays flat whatever the hashtag's size.
 */
const CURSOR_BATCH_ROWS = 200;

/**
 * One statement, so the export is a consistent snapshot. Ordered by the primary key of
 * hashtag_videos (text order), which Postgres can walk without sorting.
 */
function exportSql({ format, hashtagIds, since }: ExportQuery): { text: string; values: unknown[] } {
  // raw as text: Postgres' own rendering of the jsonb, with big numbers exactly as stored.
  const columns =
    format === 'jsonl'
      ? 'v.raw::text as raw'
      : CSV_COLUMNS.map((column) => (column === 'hashtag_id' ? 'hv.hashtag_id' : `v.${column}`)).join(', ');
  const values: unknown[] = [hashtagIds];
  let where = 'hv.hashtag_id = any($1::text[])';
  if (since !== null) {
    values.push(since.toISOString());
    where += ' and v.create_time >= $2::timestamptz';
  }
  return {
    text: `select ${columns} from hashtag_videos hv join videos v on v.id = hv.video_id where ${where} order by hv.hashtag_id, hv.video_id`,
    values,
  };
}

/**
 * Lends `consume` a stream of the export's rows on a connection of its own, and gives the
 * connection back to the pool however `consume` ends (a destroyed stream closes its cursor).
 */
export async function withExportRows<T>(pool: pg.Pool, query: ExportQuery, consume: (rows: Readable) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    const { text, values } = exportSql(query);
    return await consume(client.query(new QueryStream(text, values, { batchSize: CURSOR_BATCH_ROWS })));
  } catch (err) {
    // A connection that failed mid-protocol may be unusable: the pool discards it rather than reusing it.
    failure = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(failure);
  }
}

/** Turns the rows of `exportSql(format)` into the bytes of the file. */
export function formatRows(format: ExportFormat): Transform {
  if (format === 'csv') {
    // Counters arrive as strings (int8), so they are written exactly; nulls become empty fields.
    // escape_formulas: a caption starting with = + - @ (or tab, CR, their full-width forms) gets a
    // leading ' so Excel, LibreOffice and Sheets show it as text instead of running it (=HYPERLINK, DDE).
    return stringify({ header: true, columns: [...CSV_COLUMNS], escape_formulas: true, cast: { date: (value) => value.toISOString() } });
  }
  return new Transform({
    writableObjectMode: true,
    transform(row: { raw: string }, _encoding, done) {
      // jsonb text never holds a raw newline (strings escape it), so each item is one line.
      done(null, `${row.raw}\n`);
    },
  });
}
