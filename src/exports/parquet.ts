import { Transform } from 'node:stream';
import { ByteWriter, ParquetWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import type { Field } from './fields.js';

/**
 * A row group is written once it holds this many rows or about this many bytes of text,
 * whichever comes first: a group is the unit a Parquet writer holds in memory, so the byte bound
 * keeps memory flat for 16 KB items, and the row bound keeps groups of small rows readable.
 */
export interface RowGroupLimits {
  maxRows: number;
  maxTextBytes: number;
}

export const DEFAULT_ROW_GROUP_LIMITS: RowGroupLimits = { maxRows: 50_000, maxTextBytes: 2 * 1024 * 1024 };

export interface ParquetOptions {
  /** The file's `created_by`: the tool and its version, never a time, so a re-export is byte-identical. */
  createdBy: string;
  limits?: RowGroupLimits;
}

type Row = Record<string, unknown>;

/** Parquet's physical and logical types for each codebook type. */
function schemaElement({ name, type, required }: Field): SchemaElement {
  const repetition_type = required ? 'REQUIRED' : 'OPTIONAL';
  switch (type) {
    case 'integer':
      return { name, type: 'INT64', repetition_type };
    case 'number':
      return { name, type: 'DOUBLE', repetition_type };
    case 'boolean':
      return { name, type: 'BOOLEAN', repetition_type };
    case 'datetime':
      return {
        name,
        type: 'INT64',
        repetition_type,
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
      };
    case 'string':
    case 'object':
    case 'array':
      // JSON stays text (UTF8): every reader opens it as a string, and it is the bytes Postgres holds.
      return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type };
  }
}

/**
 * node-postgres gives int8 as a string and int4 as a number; INT64 columns take bigints.
 * Timestamps arrive as Dates, which the writer turns into milliseconds itself.
 */
function columnValue(type: Field['type'], value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'integer') return BigInt(value as string | number);
  return value;
}

function textBytes(row: Row): number {
  let bytes = 0;
  for (const value of Object.values(row)) if (typeof value === 'string') bytes += value.length;
  return bytes;
}

/**
 * Rows in (objects keyed by the fields' names), the bytes of a snappy-compressed Parquet file
 * out. Each row group is encoded and handed on before more rows are taken, so the stream's
 * backpressure bounds memory to about one group.
 */
export function parquetRows(fields: readonly Field[], options: ParquetOptions): Transform {
  const limits = options.limits ?? DEFAULT_ROW_GROUP_LIMITS;
  const schema: SchemaElement[] = [{ name: 'root', num_children: fields.length }, ...fields.map(schemaElement)];
  const bytes = new ByteWriter();
  const writer = new ParquetWriter({ writer: bytes, schema, codec: 'SNAPPY', createdBy: options.createdBy });
  let group: Row[] = [];
  let groupTextBytes = 0;

  const takeBytes = (stream: Transform) => {
    if (bytes.index === 0) return;
    stream.push(Buffer.from(bytes.getBytes()));
    // The writer only appends; its offset keeps counting the file's bytes for the footer.
    bytes.index = 0;
  };
  const writeGroup = (stream: Transform) => {
    if (group.length === 0) return;
    const columnData: ColumnSource[] = fields.map(({ name, type }) => ({
      name,
      data: group.map((row) => columnValue(type, row[name])),
      // Min/max of whole JSON items prune nothing, and the writer holds each group's until the footer.
      statistics: type !== 'object' && type !== 'array',
    }));
    writer.write({ columnData, rowGroupSize: group.length });
    group = [];
    groupTextBytes = 0;
    takeBytes(stream);
  };

  return new Transform({
    writableObjectMode: true,
    transform(row: Row, _encoding, done) {
      try {
        group.push(row);
        groupTextBytes += textBytes(row);
        if (group.length >= limits.maxRows || groupTextBytes >= limits.maxTextBytes) writeGroup(this);
        done();
      } catch (err) {
        done(new Error('writing a Parquet row group failed', { cause: err }));
      }
    },
    flush(done) {
      try {
        writeGroup(this);
        void writer.finish();
        takeBytes(this);
        done();
      } catch (err) {
        done(new Error('finishing the Parquet file failed', { cause: err }));
      }
    },
  });
}
