import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.js';
import { videoHistory } from '../src/db/history.js';
import { maintainSnapshotPartitions, monthPartition } from '../src/db/snapshot-partitions.js';
import { catalogueIds } from '../src/sim/catalogue.js';
import { startSimulator, type SimulatorHandle } from '../src/sim/server.js';
import { crawlAndWait } from './support/runs.js';
import { freshDatabase, freshPrefix, SERVICES, silentLogger, testConfig, type TestDatabase } from './support/services.js';

const SCRIPT = fileURLToPath(new URL('../scripts/pg-partman.sh', import.meta.url));
const partman = (...args: string[]) => promisify(execFile)('bash', [SCRIPT, ...args], { env: { ...process.env, HA_PG_PORT: new URL(SERVICES.databaseUrl).port } });

/** The first day (UTC) of the month `offset` months from now. */
const monthFromNow = (offset: number) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
};

let database: TestDatabase;
let sim: SimulatorHandle;
let app: App | undefined;
const prefix = freshPrefix();

const partitionNames = async () =>
  (
    await database.database.db.execute<{ name: string }>(sql`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'video_snapshots'::regclass ORDER BY 1`)
  ).rows.map((row) => row.name);
const snapshotMonths = async () =>
  (await database.database.db.execute<{ month: string }>(sql`SELECT DISTINCT to_char(captured_at AT TIME ZONE 'UTC', 'YYYY_MM') AS month FROM video_snapshots WHERE video_id = 'old' ORDER BY 1`)).rows.map((row) => row.month);

beforeAll(async () => {
  // Installed by the project's script (Debian's postgresql-15-partman), which fails in one line
  // where it cannot install: this file never skips quietly.
  await partman('install');
  database = await freshDatabase();
  await partman('enable', database.name);
  const db = database.database.db;
  // An archive two years deep, partitioned as migration 0008 leaves one: a partition and a
  // snapshot for each of the last 24 months, then handed to pg_partman as this project's README says.
  await db.execute(sql`INSERT INTO videos (id, raw) VALUES ('old', '{}'::jsonb)`);
  for (let offset = -24; offset < 0; offset += 1) {
    const month = monthPartition(monthFromNow(offset));
    await db.execute(sql`CREATE TABLE ${sql.identifier(month.name)} PARTITION OF video_snapshots FOR VALUES FROM (${sql.raw(`'${month.from.toISOString()}'`)}) TO (${sql.raw(`'${month.to.toISOString()}'`)})`);
    await db.execute(sql`INSERT INTO video_snapshots (video_id, captured_at, play_count) VALUES ('old', ${new Date(month.from.getTime() + 86_400_000).toISOString()}::timestamptz, ${24 + offset})`);
  }
  // Partman counts its premake from the newest month holding rows: this month's, as on a live archive.
  await db.execute(sql`INSERT INTO video_snapshots (video_id, play_count) VALUES ('old', 24)`);
  await db.execute(sql`SELECT partman.create_parent('public.video_snapshots', 'captured_at', 'native', 'monthly', p_premake := 4, p_jobmon := false)`);
  sim = await startSimulator({ itemsPerHashtag: 60 });
}, 300_000);

afterAll(async () => {
  await app?.close();
  await sim?.close();
  await prefix.clear();
  await database?.drop();
});

describe('video_snapshots managed by pg_partman', () => {
  it("creates the months ahead through partman's maintenance: its premake, not the worker's two months", async () => {
    const db = database.database.db;
    await db.execute(sql`UPDATE partman.part_config SET premake = 6 WHERE parent_table = 'public.video_snapshots'`);
    const result = await maintainSnapshotPartitions(db, new Date(), null);
    expect(result).toEqual({ created: [5, 6].map((offset) => monthPartition(monthFromNow(offset)).name), dropped: [], managedByPartman: true });
    // The worker's own rule (two months ahead) would have created nothing here.
    expect(await partitionNames()).toContain(monthPartition(monthFromNow(6)).name);
  });

  it('drops whole partitions past HA_SNAPSHOT_RETENTION, which becomes partman’s retention, and nothing younger', async () => {
    const db = database.database.db;
    const before = await snapshotMonths();
    expect(before).toHaveLength(25);
    const result = await maintainSnapshotPartitions(db, new Date(), 12);
    // Partman drops a month once its end is older than now − 12 months: the 12 oldest here (the
    // 13th, last month a year ago, ends after that point whatever the day).
    const expired = Array.from({ length: 12 }, (_, i) => monthPartition(monthFromNow(-24 + i)).name);
    expect(result).toMatchObject({ created: [], dropped: expired, managedByPartman: true });
    expect(await snapshotMonths()).toEqual(before.slice(12));
    const names = await partitionNames();
    for (const name of expired) expect(names).not.toContain(name);
    // Dropped, not detached and kept.
    const leftovers = await db.execute(sql`SELECT 1 FROM pg_class WHERE relname IN ${expired}`);
    expect(leftovers.rows).toEqual([]);
    const [config] = (await db.execute<{ retention: string; keep: boolean }>(sql`SELECT retention, retention_keep_table AS keep FROM partman.part_config WHERE parent_table = 'public.video_snapshots'`)).rows;
    expect(config).toEqual({ retention: '12 months', keep: false });
  });

  it("leaves the page transaction and history unchanged: a worker's crawl lands its snapshots in the current month", async () => {
    app = createApp(testConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: sim.baseUrl }), silentLogger);
    app.startWorker();
    const [run] = await crawlAndWait(app, ['7600']);
    expect(run?.status).toBe('completed');
    const ids = catalogueIds('7600', 60);
    const db = database.database.db;
    const placed = await db.execute<{ partition: string; n: number }>(
      sql`SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM video_snapshots WHERE video_id IN ${ids} GROUP BY 1`,
    );
    expect(placed.rows).toEqual([{ partition: monthPartition(new Date()).name, n: 60 }]);
    const history = await videoHistory(db, ids[0]!);
    expect(history).toHaveLength(1);
    expect(history[0]!.runId).toBe(run!.id);
  });
});
