import { sql } from 'drizzle-orm';
import type { Db } from './client.js';
import type { Logger } from '../logger.js';

/** One month of `video_snapshots` (UTC): rows with `from <= captured_at < to`. */
export interface MonthPartition {
  name: string;
  from: Date;
  to: Date;
}

/** Months kept ready past the current one, so an insert never finds its month missing. */
export const MONTHS_AHEAD = 2;

/** The partition holding `at`, named as migration 0008 (partition_video_snapshots) names them: video_snapshots_pYYYY_MM. */
export function monthPartition(at: Date): MonthPartition {
  const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  const to = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
  const month = String(from.getUTCMonth() + 1).padStart(2, '0');
  return { name: `video_snapshots_p${from.getUTCFullYear()}_${month}`, from, to };
}

/** The current month and the `monthsAhead` after it, oldest first. */
export function partitionsAhead(now: Date, monthsAhead: number): MonthPartition[] {
  return Array.from({ length: monthsAhead + 1 }, (_, i) => monthPartition(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1))));
}

/**
 * Partitions whose upper bound is at or before this are past retention: the first day of the
 * month `retentionMonths` before the current one. So a partition goes only once every row in it
 * is older than `retentionMonths`.
 */
export function retentionCutoff(now: Date, retentionMonths: number): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - retentionMonths, 1));
}

export interface MaintenanceResult {
  created: string[];
  dropped: string[];
  /** pg_partman manages the table: its own maintenance created and dropped the partitions. */
  managedByPartman: boolean;
}

/**
 * Creates the months ahead and, with a retention, drops the partitions wholly past it. Workers
 * all run it; an advisory lock makes them take turns, and a short lock timeout keeps a DDL lock
 * waiting behind a long read from stalling every page insert behind it (the next run retries).
 * Where pg_partman manages the table, its own maintenance does both instead (see
 * maintainWithPartman).
 */
export async function maintainSnapshotPartitions(db: Db, now: Date, retentionMonths: number | null): Promise<MaintenanceResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('video_snapshots partitions'))`);
    await tx.execute(sql`SET LOCAL lock_timeout = '5s'`);
    const partman = await partmanSchema(tx);
    if (partman !== null) return maintainWithPartman(tx, partman, retentionMonths);
    const existing = await partitionBounds(tx);
    const names = new Set(existing.map((row) => row.name));
    const created: string[] = [];
    for (const month of partitionsAhead(now, MONTHS_AHEAD)) {
      if (names.has(month.name)) continue;
      await tx.execute(
        sql`CREATE TABLE ${sql.identifier(month.name)} PARTITION OF video_snapshots FOR VALUES FROM (${sql.raw(literal(month.from))}) TO (${sql.raw(literal(month.to))})`,
      );
      created.push(month.name);
    }
    const dropped: string[] = [];
    if (retentionMonths !== null) {
      const cutoff = retentionCutoff(now, retentionMonths);
      for (const row of existing) {
        if (row.upperMs === null || row.upperMs > cutoff.getTime()) continue;
        await tx.execute(sql`DROP TABLE ${sql.identifier(row.name)}`);
        dropped.push(row.name);
      }
    }
    return { created, dropped, managedByPartman: false };
  });
}

type Tx = Pick<Db, 'execute'>;

/** Each partition and the upper bound of its range (null for a default partition), parsed by Postgres from the bound's own text. */
async function partitionBounds(tx: Tx): Promise<Array<{ name: string; upperMs: number | null }>> {
  const rows = await tx.execute<{ name: string; upper_ms: number | null }>(sql`
    SELECT c.relname AS name, extract(epoch FROM
      (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz)::float8 * 1000 AS upper_ms
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'video_snapshots'::regclass`);
  return rows.rows.map((row) => ({ name: row.name, upperMs: row.upper_ms }));
}

/**
 * pg_partman creates the partitions ahead (its `premake`) and drops the expired ones in its
 * `run_maintenance`, which is run here rather than left to its background worker: that worker
 * needs shared_preload_libraries and is often not set up. HA_SNAPSHOT_RETENTION, when set,
 * becomes partman's retention (whole partitions dropped, not detached and kept); unset, the
 * retention configured in partman stays. Partman drops a partition once its upper bound is older
 * than now − retention, a day or so of the month later than the rule above.
 */
async function maintainWithPartman(tx: Tx, schema: string, retentionMonths: number | null): Promise<MaintenanceResult> {
  const before = new Set((await partitionBounds(tx)).map((row) => row.name));
  const config = sql`${sql.identifier(schema)}.part_config`;
  if (retentionMonths !== null) {
    await tx.execute(sql`UPDATE ${config} SET retention = ${`${retentionMonths} months`}, retention_keep_table = false WHERE parent_table = 'public.video_snapshots'`);
  }
  await tx.execute(sql`SELECT ${sql.identifier(schema)}.run_maintenance(p_parent_table := 'public.video_snapshots', p_jobmon := false)`);
  const after = new Set((await partitionBounds(tx)).map((row) => row.name));
  return {
    created: [...after].filter((name) => !before.has(name)).sort(),
    dropped: [...before].filter((name) => !after.has(name)).sort(),
    managedByPartman: true,
  };
}

/** Partition bounds must be literals, not parameters; an ISO timestamp built from a Date is safe. */
function literal(at: Date): string {
  return `'${at.toISOString()}'`;
}

/** The schema pg_partman is installed in, when its part_config manages public.video_snapshots; null otherwise. */
async function partmanSchema(tx: Tx): Promise<string | null> {
  const [extension] = (await tx.execute<{ schema: string }>(sql`SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'`)).rows;
  if (!extension) return null;
  const config = await tx.execute(sql`SELECT 1 FROM ${sql.identifier(extension.schema)}.part_config WHERE parent_table = 'public.video_snapshots'`);
  return config.rows.length > 0 ? extension.schema : null;
}

/** Runs the maintenance now and then every `everyMs`; returns its stop. Failures are logged and retried next time. */
export function scheduleSnapshotPartitions(db: Db, retentionMonths: number | null, everyMs: number, logger: Logger): () => void {
  const run = () =>
    maintainSnapshotPartitions(db, new Date(), retentionMonths).then(
      (result) => {
        if (result.created.length > 0 || result.dropped.length > 0) logger.info(result, 'video_snapshots partitions maintained');
      },
      (err: unknown) => logger.warn({ err }, 'video_snapshots partition maintenance failed; retrying at the next run'),
    );
  void run();
  const timer = setInterval(run, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
