import { Transform, type Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type pg from 'pg';
import { VIDEO_EXPORT_FIELDS } from '../exports/fields.js';
import { parquetRows } from '../exports/parquet.js';
import { toolVersion } from '../exports/tool-version.js';
import { selectionCondition, type Selection } from '../selection/selection.js';
import { SqlParams } from '../selection/sql-params.js';
import { queryStream, withConnection, type Statement } from './query-stream.js';
import { VIDEO_COLUMN_NAMES } from './video-row.js';

export const EXPORT_FORMATS = ['jsonl', 'csv', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** The CSV header: the typed columns of `videos`, led by the hashtag the row was exported for. */
export const CSV_COLUMNS = ['hashtag_id', ...VIDEO_COLUMN_NAMES, 'first_seen_at', 'last_seen_at'] as const;

export interface ExportQuery {
  format: ExportFormat;
  selection: Selection;
  /** Only videos marked hashtag_videos.missing_since (the feed no longer lists them). */
  missingOnly?: boolean;
}

/**
 * One statement, so the export is a consistent snapshot. Ordered by the primary key of
 * hashtag_videos (text order), which Postgres can walk without sorting.
 */
function exportSql({ format, selection, missingOnly }: ExportQuery): Statement {
  // raw as text: Postgres' own rendering of the jsonb, with big numbers exactly as stored.
  const typed = CSV_COLUMNS.map((column) => (column === 'hashtag_id' ? 'hv.hashtag_id' : `v.${column}`));
  const columns = [...(format === 'jsonl' ? [] : typed), ...(format === 'csv' ? [] : ['v.raw::text as raw'])].join(', ');
  const params = new SqlParams();
  const selected = selectionCondition(selection, params, { hashtagVideos: 'hv', videos: 'v' });
  const where = missingOnly ? `${selected} and hv.missing_since is not null` : selected;
  return {
    text: `select ${columns} from hashtag_videos hv join videos v on v.id = hv.video_id where ${where} order by hv.hashtag_id, hv.video_id`,
    values: params.values,
  };
}

/** Lends `consume` a stream of the export's rows on a connection of its own. */
export function withExportRows<T>(pool: pg.Pool, query: ExportQuery, consume: (rows: Readable) => Promise<T>): Promise<T> {
  return withConnection(pool, (client) => consume(queryStream(client, exportSql(query))));
}

/** Turns the rows of `exportSql(format)` into the bytes of the file. */
export function formatRows(format: ExportFormat): Transform {
  if (format === 'parquet') return parquetRows(VIDEO_EXPORT_FIELDS, { createdBy: toolVersion() });
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
