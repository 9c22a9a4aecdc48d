import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSince } from '../src/cli/since.js';
import { ConfigError } from '../src/config.js';
import { CSV_COLUMNS } from '../src/db/export-rows.js';
import { createRuns } from '../src/db/runs.js';
import { hashtagVideos, videos } from '../src/db/schema.js';
import { catalogueIds, catalogueItem } from '../src/sim/catalogue.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';
import { crawlAndWait } from './support/runs.js';

const CRAWLED = '910001';
const CRAWLED_SIZE = 150;
/** Inserted directly: a caption that needs every kind of CSV quoting. */
const QUOTED = '910002';
/** Crawled (a run exists) but holds no video. */
const EMPTY = '910003';
const UNKNOWN = '919999';

const AWKWARD_DESCRIPTION = 'one, two; "three" \'four\'\nsecond line\r\nthird 🎄🔥 famille 👨‍👩‍👧 é,"';

const t = useCrawlEnvironment({ sim: { itemsPerHashtag: CRAWLED_SIZE } });

beforeAll(async () => {
  const [run] = await crawlAndWait(t.app, [CRAWLED]);
  expect(run).toMatchObject({ status: 'completed', items: CRAWLED_SIZE });

  const db = t.app.database.db;
  await db.insert(videos).values({
    id: '7000000000000000001',
    authorId: '6000000000000000001',
    authorUniqueId: 'quoter',
    description: AWKWARD_DESCRIPTION,
    createTime: new Date('2024-11-30T12:34:56Z'),
    playCount: 9_007_199_254,
    diggCount: 0,
    commentCount: null,
    shareCount: 3,
    collectCount: 4,
    musicId: null,
    raw: { id: '7000000000000000001', desc: AWKWARD_DESCRIPTION },
  });
  await db.insert(hashtagVideos).values({ hashtagId: QUOTED, videoId: '7000000000000000001' });
  await createRuns(db, [{ hashtagId: EMPTY, maxPages: 1, maxItems: null }]);
});

/** What the simulator served, as the archive keeps it: U+0000 cannot be stored in Postgres. */
function servedItems(hashtagId: string, size: number): Array<Record<string, unknown>> {
  return Array.from({ length: size }, (_, index) => {
    const json = JSON.stringify(catalogueItem(hashtagId, index, 1, true));
    return JSON.parse(json.replaceAll('\\u0000', '')) as Record<string, unknown>;
  });
}

function byId(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0;
}

function jsonLines(stdout: string): Array<Record<string, unknown>> {
  expect(stdout === '' || stdout.endsWith('\n')).toBe(true);
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function csvRecords(text: string): Array<Record<string, string>> {
  return parse(text, { columns: true }) as Array<Record<string, string>>;
}

describe('hashtag-archiver export', () => {
  it('JSONL holds every archived item exactly as the simulator served it, ordered by video id', async () => {
    const result = await runCli(['export', CRAWLED, '--format', 'jsonl'], t.cliEnv());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = jsonLines(result.stdout);
    expect(lines.map((item) => item.id)).toEqual(catalogueIds(CRAWLED, CRAWLED_SIZE).sort());
    expect(lines).toEqual(servedItems(CRAWLED, CRAWLED_SIZE).sort(byId));
  });

  it('CSV keeps commas, quotes, newlines and emoji of a caption intact through a CSV parser', async () => {
    const result = await runCli(['export', QUOTED, '--format', 'csv'], t.cliEnv());
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(CSV_COLUMNS.join(','));
    const records = csvRecords(result.stdout);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      hashtag_id: QUOTED,
      id: '7000000000000000001',
      author_id: '6000000000000000001',
      author_unique_id: 'quoter',
      description: AWKWARD_DESCRIPTION,
      create_time: '2024-11-30T12:34:56.000Z',
      play_count: '9007199254',
      digg_count: '0',
      comment_count: '',
      share_count: '3',
      collect_count: '4',
      music_id: '',
    });
    expect(new Date(records[0]!.first_seen_at!).toISOString()).toBe(records[0]!.first_seen_at);
  });

  it('CSV rows carry the typed columns of the crawled items', async () => {
    const result = await runCli(['export', CRAWLED, '--format', 'csv'], t.cliEnv());
    const records = csvRecords(result.stdout);
    const served = servedItems(CRAWLED, CRAWLED_SIZE).sort(byId);
    expect(records.map((record) => record.id)).toEqual(served.map((item) => item.id));
    records.forEach((record, index) => {
      const item = served[index] as { desc: string; createTime: number | string; stats: { playCount: number }; author: { uniqueId: string } };
      expect(record.description).toBe(item.desc);
      expect(record.create_time).toBe(new Date(Number(item.createTime) * 1000).toISOString());
      expect(record.play_count).toBe(String(item.stats.playCount));
      expect(record.author_unique_id).toBe(item.author.uniqueId);
    });
  });

  it('orders several hashtags by hashtag id, then video id', async () => {
    const result = await runCli(['export', QUOTED, CRAWLED, EMPTY, '--format', 'csv'], t.cliEnv());
    expect(result.code).toBe(0);
    const records = csvRecords(result.stdout);
    expect(records.map((record) => [record.hashtag_id, record.id])).toEqual([
      ...catalogueIds(CRAWLED, CRAWLED_SIZE)
        .sort()
        .map((id) => [CRAWLED, id]),
      [QUOTED, '7000000000000000001'],
    ]);
  });

  it('--since keeps only videos created at or after the date', async () => {
    const served = servedItems(CRAWLED, CRAWLED_SIZE);
    const cutoffMs = Number(served[40]!.createTime) * 1000;
    const expected = served.filter((item) => Number(item.createTime) * 1000 >= cutoffMs).map((item) => item.id);
    expect(expected.length).toBeGreaterThan(1);
    expect(expected.length).toBeLessThan(CRAWLED_SIZE);

    const result = await runCli(['export', CRAWLED, '--format', 'jsonl', '--since', new Date(cutoffMs).toISOString()], t.cliEnv());
    expect(result.code).toBe(0);
    expect(jsonLines(result.stdout).map((item) => item.id)).toEqual(expected.sort());
  });

  it('refuses an unparseable --since with one line naming it', async () => {
    expectOneLineError(await runCli(['export', CRAWLED, '--format', 'csv', '--since', 'last tuesday'], t.cliEnv()), /^error: --since: 'last tuesday' is not a date/);
    expectOneLineError(await runCli(['export', CRAWLED, '--format', 'csv', '--since', '2024-02-30'], t.cliEnv()), /^error: --since: '2024-02-30' is not a date/);
  });

  it('reads --since as UTC unless it carries an offset, and refuses dates that do not exist', () => {
    expect(parseSince('2024-12-01').toISOString()).toBe('2024-12-01T00:00:00.000Z');
    expect(parseSince('2024-12-01T18:30').toISOString()).toBe('2024-12-01T18:30:00.000Z');
    expect(parseSince('2024-12-01T18:30:00.250+01:00').toISOString()).toBe('2024-12-01T17:30:00.250Z');
    expect(parseSince('2024-12-01T18:30:00-0530').toISOString()).toBe('2024-12-02T00:00:00.000Z');
    for (const bad of ['2024-02-30', '2024-13-01', '2024-12-01T24:00', '1', 'yesterday', '']) {
      expect(() => parseSince(bad)).toThrow(ConfigError);
    }
  });

  it('--out writes the whole file, replaces an older one and leaves no temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ha-export-'));
    try {
      const out = join(dir, 'videos.csv');
      await writeFile(out, 'an older export\n');
      const result = await runCli(['export', CRAWLED, '--format', 'csv', '--out', out], t.cliEnv());
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('');
      expect(await readdir(dir)).toEqual(['videos.csv']);
      const fromStdout = await runCli(['export', CRAWLED, '--format', 'csv'], t.cliEnv());
      expect(await readFile(out, 'utf8')).toBe(fromStdout.stdout);
      expect(csvRecords(fromStdout.stdout)).toHaveLength(CRAWLED_SIZE);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('--out to a device writes in place instead of renaming over it', async () => {
    const result = await runCli(['export', CRAWLED, '--format', 'jsonl', '--out', '/dev/null'], t.cliEnv());
    expect(result.code).toBe(0);
    expect((await stat('/dev/null')).isCharacterDevice()).toBe(true);
  });

  it('refuses an --out in a directory that does not exist, with one line naming it', async () => {
    expectOneLineError(
      await runCli(['export', CRAWLED, '--format', 'csv', '--out', '/nonexistent-ha-dir/videos.csv'], t.cliEnv()),
      /^error: --out: directory '\/nonexistent-ha-dir' does not exist/,
    );
  });

  it('a crawled hashtag without videos exports a header-only CSV and an empty JSONL', async () => {
    const csv = await runCli(['export', EMPTY, '--format', 'csv'], t.cliEnv());
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe(`${CSV_COLUMNS.join(',')}\n`);
    const jsonl = await runCli(['export', EMPTY, '--format', 'jsonl'], t.cliEnv());
    expect(jsonl.code).toBe(0);
    expect(jsonl.stdout).toBe('');
  });

  it('an unknown hashtag is one line telling to crawl it, and no file is written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ha-export-'));
    try {
      const result = await runCli(['export', CRAWLED, UNKNOWN, '--format', 'jsonl', '--out', join(dir, 'out.jsonl')], t.cliEnv());
      expectOneLineError(result, new RegExp(`^error: hashtag ${UNKNOWN} is not in the archive; crawl it first with 'hashtag-archiver crawl ${UNKNOWN}'$`));
      expect(result.code).toBe(2);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a reader that stops early (| head) ends the export quietly with exit 0', async () => {
    const bin = fileURLToPath(new URL('../bin/hashtag-archiver.js', import.meta.url));
    const child = spawn(process.execPath, [bin, 'export', CRAWLED, '--format', 'jsonl'], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...t.cliEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // The first chunk is far less than the 2+ MB export: the rest hits a closed pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
