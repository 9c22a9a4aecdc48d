import { Transform } from 'node:stream';
import { ByteWriter, ParquetWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import type { Field } from './fields.js';

/**
 * A row group is written once it holds this many rows or this many UTF-8 bytes of text,
 * whichever comes first. Memory has two parts: the group being filled (bounded by these limits,
 * its JSON outside V8's heap) and what the writer keeps of every group until the footer: ~12 KB
 * a group of 15 columns (chunk offsets and sizes, numeric statistics; measured on a heap
 * snapshot). 16 MB groups make that 0.07 % of the data, 13 MB for a million ~17 KB items;
 * 2 MB groups had made it 1,600 groups per 200,000 items, which ran a 64 MB heap out.
 */
export interface RowGroupLimits {
  maxRows: number;
  maxTextBytes: number;
}

export const DEFAULT_ROW_GROUP_LIMITS: RowGroupLimits = { maxRows: 50_000, maxTextBytes: 16 * 1024 * 1024 };

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

const isText = (type: Field['type']): boolean => type === 'string' || type === 'object' || type === 'array';
const isJson = (type: Field['type']): boolean => type === 'object' || type === 'array';

/**
 * node-postgres gives int8 as a string and int4 as a number; INT64 columns take bigints.
 * Timestamps arrive as Dates, which the writer turns into milliseconds itself.
 * JSON text becomes its UTF-8 bytes as the row arrives: a ~17 KB item held as a JS string costs
 * up to twice that on V8's heap (one emoji makes it two-byte), and the writer would encode it
 * again anyway; as bytes it is held once, outside the heap.
 */
function columnValue(type: Field['type'], value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'integer') return BigInt(value as string | number);
  if (isJson(type)) return Buffer.from(value as string, 'utf8');
  return value;
}

function textBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  return value instanceof Uint8Array ? value.byteLength : 0;
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
  // Column-major, converted as rows arrive, so a row's own object is garbage at once.
  let columns: unknown[][] = fields.map(() => []);
  let groupRows = 0;
  let groupTextBytes = 0;

  const takeBytes = (stream: Transform) => {
    if (bytes.index === 0) return;
    stream.push(Buffer.from(bytes.getBytes()));
    // The writer only appends; its offset keeps counting the file's bytes for the footer.
    bytes.index = 0;
  };
  const writeGroup = (stream: Transform) => {
    if (groupRows === 0) return;
    const columnData: ColumnSource[] = fields.map(({ name, type }, index) => ({
      name,
      data: columns[index]!,
      // The writer holds every group's statistics until the footer, text ones at full length
      // (whole JSON items, long captions), and a page index for every multi-page text chunk.
      // Min/max of text prunes little; of counts and times (create_time ranges) it prunes well.
      statistics: !isText(type),
      offsetIndex: !isText(type),
    }));
    writer.write({ columnData, rowGroupSize: groupRows });
    columns = fields.map(() => []);
    groupRows = 0;
    groupTextBytes = 0;
    takeBytes(stream);
  };

  return new Transform({
    writableObjectMode: true,
    transform(row: Row, _encoding, done) {
      try {
        fields.forEach(({ name, type }, index) => {
          const value = columnValue(type, row[name]);
          columns[index]!.push(value);
          groupTextBytes += textBytes(value);
        });
        groupRows += 1;
        if (groupRows >= limits.maxRows || groupTextBytes >= limits.maxTextBytes) writeGroup(this);
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
