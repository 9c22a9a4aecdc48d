import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { videoHistory } from '../src/db/history.js';
import { MIGRATIONS_FOLDER, runMigrations } from '../src/db/migrate.js';
import { maintainSnapshotPartitions, monthPartition, partitionsAhead, retentionCutoff } from '../src/db/snapshot-partitions.js';
import { adminStatement, dropDatabase, SERVICES, silentLogger } from './support/services.js';

/** The hand-written migration under test; its number moves when others land before it. */
const PARTITIONING = /^\d+_partition_video_snapshots$/;

type SnapshotRow = {
  id: string;
  video_id: string;
  run_id: number | null;
  captured_at: string;
  play_count: string | null;
};

let name: string;
let database: Database;
let scratch: string;
/** What the unpartitioned table held before the partitioning migration. */
let before: SnapshotRow[];

const snapshots = async () =>
  (await database.db.execute<SnapshotRow>(sql`SELECT id::text, video_id, run_id, to_json(captured_at) #>> '{}' AS captured_at, play_count::text FROM video_snapshots ORDER BY id`)).rows;
const partitionNames = async () =>
  (
    await database.db.execute<{ name: string }>(sql`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'video_snapshots'::regclass ORDER BY 1`)
  ).rows.map((row) => row.name);

/** The migrations before the first whose tag matches `tag`, as drizzle's migrator reads them: the journal and its SQL files. */
async function migrationsBefore(tag: RegExp): Promise<string> {
  const folder = join(scratch, 'migrations-before');
  await cp(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
  const first = journal.entries.findIndex((entry) => tag.test(entry.tag));
  expect(first).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, first);
  await writeFile(journalPath, JSON.stringify(journal));
  return folder;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ha-partitions-'));
  name = `ha_test_part_${process.pid}_${Date.now()}`;
  await adminStatement(`CREATE DATABASE ${name}`);
  const url = new URL(SERVICES.databaseUrl);
  url.pathname = `/${name}`;
  database = openDatabase({ url: url.toString(), logger: silentLogger });
  await migrate(database.db, { migrationsFolder: await migrationsBefore(PARTITIONING) });

  // An archive from before partitioning: snapshots over two years, month edges included.
  await database.db.execute(sql`INSERT INTO crawl_runs (hashtag_id) VALUES ('3242')`);
  await database.db.execute(sql`INSERT INTO videos (id, raw) SELECT 'v' || n, '{}'::jsonb FROM generate_series(1, 3) n`);
  await database.db.execute(sql`INSERT INTO video_snapshots (video_id, run_id, captured_at, play_count) VALUES
    ('v1', 1, '2024-11-30T23:59:59.999Z', 10), ('v1', 1, '2024-12-01T00:00:00Z', 11), ('v2', NULL, '2025-06-15T12:00:00Z', 20),
    ('v3', 1, now(), 30), ('v2', 1, now(), 21)`);
  before = await snapshots();
  await runMigrations(database.db);
});

afterAll(async () => {
  await database?.close();
  if (name) await dropDatabase(name);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the partitioning migration over an existing video_snapshots table', () => {
  it('keeps every row with its id, video, run, time and counts', async () => {
    expect(before).toHaveLength(5);
    expect(await snapshots()).toEqual(before);
  });

  it('leaves a table range-partitioned on captured_at, its primary key holding the partition column', async () => {
    const [table] = (await database.db.execute<{ kind: string; key: string }>(sql`SELECT c.relkind AS kind, pg_get_partkeydef(c.oid) AS key FROM pg_class c WHERE c.relname = 'video_snapshots'`)).rows;
    expect(table).toEqual({ kind: 'p', key: 'RANGE (captured_at)' });
    const [pk] = (await database.db.execute<{ def: string }>(sql`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'video_snapshots'::regclass AND contype = 'p'`)).rows;
    expect(pk?.def).toBe('PRIMARY KEY (id, captured_at)');
  });

  it('has a partition for every month from the oldest row to two months ahead, each row in its own month', async () => {
    const expected = [];
    for (let month = new Date(Date.UTC(2024, 10, 1)); month <= partitionsAhead(new Date(), 2).at(-1)!.from; month = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1))) {
      expected.push(monthPartition(month).name);
    }
    expect(await partitionNames()).toEqual(expected);
    const placed = await database.db.execute<{ partition: string; id: string }>(sql`SELECT tableoid::regclass::text AS partition, id::text FROM video_snapshots ORDER BY id`);
    expect(placed.rows.map((row) => row.partition)).toEqual(before.map((row) => monthPartition(new Date(row.captured_at)).name));
  });

  it('numbers new snapshots after the copied ones, and history reads both', async () => {
    await database.db.execute(sql`INSERT INTO video_snapshots (video_id, run_id, play_count) VALUES ('v1', 1, 12)`);
    const after = await snapshots();
    expect(Number(after.at(-1)!.id)).toBe(Math.max(...before.map((row) => Number(row.id))) + 1);
    expect((await videoHistory(database.db, 'v1')).map((snapshot) => snapshot.plays)).toEqual([10, 11, 12]);
  });

  it('leaves drizzle-kit nothing to generate: the schema and the migrations agree', async () => {
    const out = join(scratch, 'migrations-now');
    await cp(MIGRATIONS_FOLDER, out, { recursive: true });
    const config = join(scratch, 'drizzle.config.json');
    // drizzle-kit reads `out` relative to the working directory only.
    await writeFile(config, JSON.stringify({ dialect: 'postgresql', schema: './src/db/schema.ts', out: relative(process.cwd(), out) }));
    const { stdout } = await promisify(execFile)('npx', ['drizzle-kit', 'generate', '--config', config], { cwd: process.cwd() });
    expect(stdout).toContain('No schema changes');
  });
});

describe('partition maintenance', () => {
  it('creates the months ahead of a later date, once', async () => {
    const later = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 5, 10));
    const first = await maintainSnapshotPartitions(database.db, later, null);
    expect(first.created).toEqual(partitionsAhead(later, 2).map((month) => month.name));
    expect(first.dropped).toEqual([]);
    expect(await maintainSnapshotPartitions(database.db, later, null)).toMatchObject({ created: [], dropped: [] });
    await database.db.execute(sql`INSERT INTO video_snapshots (video_id, captured_at) VALUES ('v3', ${later.toISOString()}::timestamptz)`);
  });

  it('drops whole partitions past the retention and nothing younger', async () => {
    const rowsBefore = await snapshots();
    // At 2026-12-15 a retention of 24 months drops November 2024 and keeps December 2024 onwards.
    const result = await maintainSnapshotPartitions(database.db, new Date('2026-12-15T08:00:00Z'), 24);
    expect(result.dropped).toEqual(['video_snapshots_p2024_11']);
    const kept = await snapshots();
    expect(kept).toEqual(rowsBefore.filter((row) => new Date(row.captured_at) >= new Date('2024-12-01T00:00:00Z')));
    expect(await partitionNames()).not.toContain('video_snapshots_p2024_11');
  });
});

describe('partition months', () => {
  const dates = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2200-01-01T00:00:00Z'), noInvalidDate: true });

  it('cover now and the months ahead without gap or overlap', () => {
    fc.assert(
      fc.property(dates, fc.integer({ min: 0, max: 24 }), (now, ahead) => {
        const months = partitionsAhead(now, ahead);
        expect(months).toHaveLength(ahead + 1);
        expect(months[0]!.from.getTime()).toBeLessThanOrEqual(now.getTime());
        expect(months[0]!.to.getTime()).toBeGreaterThan(now.getTime());
        months.slice(1).forEach((month, i) => expect(month.from).toEqual(months[i]!.to));
        expect(new Set(months.map((month) => month.name)).size).toBe(months.length);
      }),
    );
  });

  it('drop a partition only once all of it is older than the retention', () => {
    fc.assert(
      fc.property(dates, fc.integer({ min: 1, max: 120 }), (now, retention) => {
        const cutoff = retentionCutoff(now, retention);
        const DAY = 86_400_000;
        // A month boundary; everything before it is older than `retention` months (at least
        // 28 days each), and it is less than one month further back than that.
        expect(cutoff).toEqual(monthPartition(cutoff).from);
        expect(now.getTime() - cutoff.getTime()).toBeGreaterThanOrEqual(retention * 28 * DAY);
        expect(now.getTime() - cutoff.getTime()).toBeLessThan((retention + 1) * 31 * DAY);
      }),
    );
  });
});
