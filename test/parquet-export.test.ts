import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSV_COLUMNS } from '../src/db/export-rows.js';
import { hashtagVideos, videos } from '../src/db/schema.js';
import { FIELDS } from '../src/exports/fields.js';
import { parquetRows } from '../src/exports/parquet.js';
import { catalogueIds, catalogueItem } from '../src/sim/catalogue.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { duckdbRows, sqlString } from './support/duckdb.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';

const CRAWLED = '920001';
const CRAWLED_SIZE = 120;
const ODD = '920002';
const ODD_ID = '7999999999999999999';
const ODD_DESCRIPTION = 'line one\nline two, "quoted" 🎄 é\u2028';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: CRAWLED_SIZE } });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ha-parquet-'));
  const [run] = await crawlAndWait(t.app, [CRAWLED]);
  expect(run).toMatchObject({ status: 'completed', items: CRAWLED_SIZE });
  await t.app.database.db.insert(videos).values({
    id: ODD_ID,
    authorId: null,
    description: ODD_DESCRIPTION,
    createTime: null,
    playCount: 9_007_199_254_740_991,
    raw: { id: ODD_ID, desc: ODD_DESCRIPTION, nested: { big: '12345678901234567890' } },
  });
  await t.app.database.db.insert(hashtagVideos).values({ hashtagId: ODD, videoId: ODD_ID });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What the simulator served, as the archive keeps it (Postgres cannot hold U+0000). */
function servedItems(hashtagId: string, size: number): Array<Record<string, unknown>> {
  return Array.from({ length: size }, (_, index) => {
    const json = JSON.stringify(catalogueItem(hashtagId, index, 1, true));
    return JSON.parse(json.replaceAll('\\u0000', '')) as Record<string, unknown>;
  });
}

async function exportParquet(name: string, hashtags: string[]): Promise<string> {
  const out = join(dir, name);
  const result = await runCli(['export', ...hashtags, '--format', 'parquet', '--out', out], t.cliEnv());
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return out;
}

describe('export --format parquet', () => {
  it('DuckDB reads back every id as a string and every raw item exactly as served', async () => {
    const file = await exportParquet('crawled.parquet', [CRAWLED]);
    const rows = await duckdbRows(`select id, hashtag_id, raw from read_parquet(${sqlString(file)}) order by id`);
    expect(rows.map((row) => row.id)).toEqual(catalogueIds(CRAWLED, CRAWLED_SIZE).sort());
    expect(rows.every((row) => row.hashtag_id === CRAWLED)).toBe(true);
    const served = new Map(servedItems(CRAWLED, CRAWLED_SIZE).map((item) => [item.id, item]));
    for (const row of rows) expect(JSON.parse(row.raw as string)).toEqual(served.get(row.id as string));
  });

  it('has the CSV columns plus raw, ids as strings, counts as int64, times as UTC timestamps, snappy-compressed', async () => {
    const file = await exportParquet('typed.parquet', [CRAWLED]);
    const described = await duckdbRows(`describe select * from read_parquet(${sqlString(file)})`);
    expect(described.map((column) => column.column_name)).toEqual([...CSV_COLUMNS, 'raw']);
    const types = Object.fromEntries(described.map((column) => [column.column_name, column.column_type]));
    expect(types).toMatchObject({
      hashtag_id: 'VARCHAR',
      id: 'VARCHAR',
      author_id: 'VARCHAR',
      music_id: 'VARCHAR',
      play_count: 'BIGINT',
      create_time: 'TIMESTAMP WITH TIME ZONE',
      first_seen_at: 'TIMESTAMP WITH TIME ZONE',
      raw: 'VARCHAR',
    });
    const codecs = await duckdbRows(`select distinct compression from parquet_metadata(${sqlString(file)})`);
    expect(codecs.map((row) => row.compression)).toEqual(['SNAPPY']);

    const [first] = await duckdbRows(
      `select id, epoch_ms(create_time)::varchar as create_ms, play_count::varchar as plays from read_parquet(${sqlString(file)}) order by id limit 1`,
    );
    const item = servedItems(CRAWLED, CRAWLED_SIZE).sort((a, b) => String(a.id).localeCompare(String(b.id)))[0] as {
      createTime: number | string;
      stats: { playCount: number };
    };
    expect(first).toEqual({ id: first!.id, create_ms: String(Number(item.createTime) * 1000), plays: String(item.stats.playCount) });
  });

  it('keeps nulls, 2^53 − 1 plays, newlines and emoji of an odd video', async () => {
    const file = await exportParquet('odd.parquet', [ODD]);
    const rows = await duckdbRows(
      `select id, author_id, create_time, play_count::varchar as plays, description, raw from read_parquet(${sqlString(file)})`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: ODD_ID, author_id: null, create_time: null, plays: '9007199254740991', description: ODD_DESCRIPTION });
    expect(JSON.parse(rows[0]!.raw as string)).toEqual({ id: ODD_ID, desc: ODD_DESCRIPTION, nested: { big: '12345678901234567890' } });
  });

  it('writes rows in several row groups once a group reaches its limit', async () => {
    const file = join(dir, 'groups.parquet');
    const rows = Array.from({ length: 25 }, (_, index) => ({ id: `7${String(index).padStart(18, '0')}`, play_count: String(index) }));
    await pipeline(
      Readable.from(rows),
      parquetRows([FIELDS.videoKey, FIELDS.playCount], { createdBy: 'test', limits: { maxRows: 10, maxTextBytes: 1_000_000 } }),
      createWriteStream(file),
    );
    const groups = await duckdbRows(`select distinct row_group_id, row_group_num_rows from parquet_metadata(${sqlString(file)}) order by row_group_id`);
    expect(groups.map((group) => Number(group.row_group_num_rows))).toEqual([10, 10, 5]);
    const back = await duckdbRows(`select id, play_count::varchar as play_count from read_parquet(${sqlString(file)})`);
    expect(back).toEqual(rows);
  });

  it('bounds a row group by the UTF-8 bytes of its text, not by JS string length', async () => {
    const file = join(dir, 'bytes.parquet');
    // '€' is one UTF-16 unit and three UTF-8 bytes: 19 + 752 bytes a row, 271 string units.
    const rows = Array.from({ length: 12 }, (_, index) => ({ id: `7${String(index).padStart(18, '0')}`, raw: JSON.stringify('€'.repeat(250)) }));
    const rowBytes = Buffer.byteLength(rows[0]!.id) + Buffer.byteLength(rows[0]!.raw);
    expect(rowBytes).toBe(771);
    await pipeline(
      Readable.from(rows),
      parquetRows([FIELDS.videoKey, FIELDS.raw], { createdBy: 'test', limits: { maxRows: 1_000, maxTextBytes: 2 * rowBytes } }),
      createWriteStream(file),
    );
    const groups = await duckdbRows(`select distinct row_group_id, row_group_num_rows from parquet_metadata(${sqlString(file)}) order by row_group_id`);
    expect(groups.map((group) => Number(group.row_group_num_rows))).toEqual([2, 2, 2, 2, 2, 2]);
    expect(await duckdbRows(`select id, raw from read_parquet(${sqlString(file)})`)).toEqual(rows);
  });

  it('keeps min/max statistics for counts and times only, none for ids, captions or raw JSON', async () => {
    const file = await exportParquet('statistics.parquet', [CRAWLED]);
    const chunks = await duckdbRows(
      `select path_in_schema as name, bool_and(stats_min_value is not null and stats_max_value is not null) as kept,
              bool_or(stats_min_value is not null or stats_max_value is not null or stats_min is not null or stats_max is not null) as any
       from parquet_metadata(${sqlString(file)}) group by path_in_schema order by path_in_schema`,
    );
    const byName = Object.fromEntries(chunks.map((chunk) => [chunk.name, chunk]));
    for (const name of ['create_time', 'play_count', 'digg_count', 'first_seen_at', 'last_seen_at']) expect(byName[name], name).toMatchObject({ kept: true });
    for (const name of ['hashtag_id', 'id', 'author_id', 'author_unique_id', 'description', 'music_id', 'raw']) expect(byName[name], name).toMatchObject({ any: false });
  });

  it('an archived hashtag without videos gives a valid file with the columns and no rows', async () => {
    const file = join(dir, 'none.parquet');
    await pipeline(Readable.from([]), parquetRows([FIELDS.videoKey], { createdBy: 'test' }), createWriteStream(file));
    expect(await duckdbRows(`select count(*)::int as n from read_parquet(${sqlString(file)})`)).toEqual([{ n: 0 }]);
  });

  it('refuses --format parquet without --out, with one line saying to give it', async () => {
    expectOneLineError(await runCli(['export', CRAWLED, '--format', 'parquet'], t.cliEnv()), /^error: --format parquet writes a binary file; give it with --out FILE/);
  });
});
