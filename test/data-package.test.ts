import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueIds, catalogueItem } from '../src/sim/catalogue.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { duckdbRows, sqlString } from './support/duckdb.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';

const HASHTAG = '940001';
const OTHER = '940002';
const SIZE = 75;
const TABLES = ['videos', 'hashtag_videos', 'video_snapshots', 'crawl_runs', 'crawl_pages'];

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: SIZE } });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ha-package-'));
  // Two crawls of one hashtag (two snapshots a video), one of another that must stay out.
  for (let crawl = 0; crawl < 2; crawl++) {
    const runs = await crawlAndWait(t.app, [HASHTAG]);
    expect(runs[0]).toMatchObject({ status: 'completed', items: SIZE });
  }
  await crawlAndWait(t.app, [OTHER]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Resource {
  name: string;
  path: string;
  format: string;
  bytes: number;
  hash: string;
  schema: { fields: Array<{ name: string; type: string; description: string }>; primaryKey?: string[] };
}

interface Descriptor {
  name: string;
  resources: Resource[];
  provenance: {
    tool: string;
    schemaMigration: string;
    selection: { hashtagIds: string[] | null; match: string | null };
    creditsSpent: number;
    hashtags: Array<{ id: string; coverage: { archived: number } }>;
    runs: Array<{ id: number; hashtagId: string; pages: number; window: { createdAt: string; finishedAt: string }; cursors: { first: string }; logIds: string[]; creditsBilled: number }>;
  };
}

async function makePackage(name: string, args: string[]): Promise<{ out: string; descriptor: Descriptor }> {
  const out = join(dir, name);
  const result = await runCli(['package', ...args, '--out', out], t.cliEnv(), 60_000);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^wrote .*datapackage\.json and 5 tables/);
  return { out, descriptor: JSON.parse(await readFile(join(out, 'datapackage.json'), 'utf8')) as Descriptor };
}

async function sha256(path: string): Promise<{ hash: string; bytes: number }> {
  const bytes = await readFile(path);
  return { hash: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes: bytes.length };
}

async function scalar(query: ReturnType<typeof sql>): Promise<number> {
  const result = await t.app.database.db.execute<{ n: number }>(query);
  return Number(result.rows[0]!.n);
}

describe('hashtag-archiver package', () => {
  it('has every table, each file matching its recorded sha256, read back by DuckDB with every id and raw item', async () => {
    const { out, descriptor } = await makePackage('parquet', [HASHTAG]);
    expect(descriptor.resources.map((resource) => resource.name)).toEqual(TABLES);
    for (const resource of descriptor.resources) {
      expect(resource.path).toBe(`data/${resource.name}.parquet`);
      expect(await sha256(join(out, resource.path))).toEqual({ hash: resource.hash, bytes: resource.bytes });
      expect(resource.schema.fields.every((field) => field.description.length > 10)).toBe(true);
    }
    const file = (table: string) => sqlString(join(out, 'data', `${table}.parquet`));
    const videoRows = await duckdbRows(`select id, raw from read_parquet(${file('videos')}) order by id`);
    expect(videoRows.map((row) => row.id)).toEqual(catalogueIds(HASHTAG, SIZE).sort());
    const served = new Map(
      Array.from({ length: SIZE }, (_, index) => JSON.parse(JSON.stringify(catalogueItem(HASHTAG, index, 1, true)).replaceAll('\\u0000', '')) as { id: string }).map((item) => [item.id, item]),
    );
    for (const row of videoRows) expect(JSON.parse(row.raw as string)).toEqual(served.get(row.id as string));

    const count = async (table: string) => Number((await duckdbRows(`select count(*)::int as n from read_parquet(${file(table)})`))[0]!.n);
    expect(await count('hashtag_videos')).toBe(SIZE);
    expect(await count('video_snapshots')).toBe(
      await scalar(sql`select count(*) as n from video_snapshots where video_id in (select video_id from hashtag_videos where hashtag_id = ${HASHTAG})`),
    );
    expect(await count('video_snapshots')).toBe(2 * SIZE);
    expect(await count('crawl_runs')).toBe(2);
    expect(await count('crawl_pages')).toBe(await scalar(sql`select count(*) as n from crawl_pages p join crawl_runs r on r.id = p.run_id where r.hashtag_id = ${HASHTAG}`));
    const runHashtags = await duckdbRows(`select distinct hashtag_id from read_parquet(${file('crawl_runs')})`);
    expect(runHashtags).toEqual([{ hashtag_id: HASHTAG }]);
  });

  it('records provenance: hashtags, each run with its window, pages, cursors and log ids, credits, tool and migration', async () => {
    const { descriptor } = await makePackage('provenance', [HASHTAG]);
    const { provenance } = descriptor;
    const journal = JSON.parse(await readFile(new URL('../migrations/meta/_journal.json', import.meta.url), 'utf8')) as { entries: Array<{ tag: string }> };
    expect(provenance.tool).toBe('hashtag-archiver 0.1.0');
    expect(provenance.schemaMigration).toBe(journal.entries.at(-1)!.tag);
    expect(provenance.selection).toMatchObject({ hashtagIds: [HASHTAG], match: null });
    expect(provenance.hashtags).toMatchObject([{ id: HASHTAG, coverage: { archived: SIZE } }]);
    const runs = await t.app.database.db.execute<{ id: number; pages: number; credits: number }>(
      sql`select id, pages, credits from crawl_runs where hashtag_id = ${HASHTAG} order by id`,
    );
    expect(provenance.runs.map((run) => [run.id, run.hashtagId, run.pages, run.creditsBilled])).toEqual(runs.rows.map((run) => [run.id, HASHTAG, run.pages, run.credits]));
    for (const run of provenance.runs) {
      expect(run.cursors.first).toBe('0');
      expect(new Date(run.window.finishedAt).getTime()).toBeGreaterThanOrEqual(new Date(run.window.createdAt).getTime());
      const logIds = await t.app.database.db.execute<{ log_id: string }>(sql`select log_id from crawl_pages where run_id = ${run.id} and log_id is not null order by page_number`);
      expect(run.logIds).toEqual(logIds.rows.map((row) => row.log_id));
    }
    expect(provenance.creditsSpent).toBe(runs.rows.reduce((sum, run) => sum + run.credits, 0));
  });

  it('packaging the same archive twice gives identical bytes, in Parquet and in CSV', async () => {
    for (const format of ['parquet', 'csv']) {
      const first = await makePackage(`twice-${format}-1`, [HASHTAG, '--format', format]);
      const second = await makePackage(`twice-${format}-2`, [HASHTAG, '--format', format]);
      const files = ['datapackage.json', ...TABLES.map((table) => `data/${table}.${format}`)];
      expect((await readdir(join(first.out, 'data'))).sort()).toEqual(TABLES.map((table) => `${table}.${format}`).sort());
      for (const file of files) expect((await readFile(join(second.out, file))).equals(await readFile(join(first.out, file)))).toBe(true);
    }
  });

  it('CSV tables match their hashes and keep ids, booleans and JSON exactly', async () => {
    const { out, descriptor } = await makePackage('csv', [HASHTAG, '--format', 'csv']);
    for (const resource of descriptor.resources) expect(await sha256(join(out, resource.path))).toEqual({ hash: resource.hash, bytes: resource.bytes });
    const videos = parse(await readFile(join(out, 'data/videos.csv')), { columns: true }) as Array<{ id: string; raw: string }>;
    expect(videos.map((video) => video.id)).toEqual(catalogueIds(HASHTAG, SIZE).sort());
    expect((JSON.parse(videos[0]!.raw) as { id: string }).id).toBe(videos[0]!.id);
    const pages = parse(await readFile(join(out, 'data/crawl_pages.csv')), { columns: true }) as Array<{ has_more: string }>;
    expect(new Set(pages.map((page) => page.has_more))).toEqual(new Set(['true', 'false']));
  });

  it('--match selects across hashtags; a malformed one names the position; a non-empty --out is refused', async () => {
    const { descriptor } = await makePackage('match', ['--match', `${HASHTAG} OR ${OTHER}`]);
    expect(descriptor.provenance.hashtags.map((hashtag) => hashtag.id)).toEqual([HASHTAG, OTHER]);
    expectOneLineError(await runCli(['package', '--match', 'fyp AND', '--out', join(dir, 'bad')], t.cliEnv()), /^error: --match: position 8: expected/, 2);
    const full = join(dir, 'full');
    await mkdir(full);
    await writeFile(join(full, 'keep.txt'), 'mine');
    expectOneLineError(await runCli(['package', HASHTAG, '--out', full], t.cliEnv()), /^error: --out: '.*full' is not empty; give a new or empty directory$/, 2);
    expect(await readdir(full)).toEqual(['keep.txt']);
  });
});
