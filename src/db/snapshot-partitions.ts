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
  /** pg_partman manages the table: it creates and drops partitions, we do nothing. */
  managedByPartman: boolean;
}

/**
 * Creates the months ahead and, with a retention, drops the partitions wholly past it. Workers
 * all run it; an advisory lock makes them take turns, and a short lock timeout keeps a DDL lock
 * waiting behind a long read from stalling every page insert behind it (the next run retries).
 */
export async function maintainSnapshotPartitions(db: Db, now: Date, retentionMonths: number | null): Promise<MaintenanceResult> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext('video_snapshots partitions'))`);
    if (await managedByPartman(tx)) return { created: [], dropped: [], managedByPartman: true };
    await tx.execute(sql`SET LOCAL lock_timeout = '5s'`);
    // The upper bound of each range partition, parsed by Postgres from the bound's own text.
    const existing = await tx.execute<{ name: string; upper_ms: number | null }>(sql`
      SELECT c.relname AS name, extract(epoch FROM
        (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz)::float8 * 1000 AS upper_ms
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'video_snapshots'::regclass`);
    const names = new Set(existing.rows.map((row) => row.name));
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
      for (const row of existing.rows) {
        if (row.upper_ms === null || row.upper_ms > cutoff.getTime()) continue;
        await tx.execute(sql`DROP TABLE ${sql.identifier(row.name)}`);
        dropped.push(row.name);
      }
    }
    return { created, dropped, managedByPartman: false };
  });
}

/** Partition bounds must be literals, not parameters; an ISO timestamp built from a Date is safe. */
function literal(at: Date): string {
  return `'${at.toISOString()}'`;
}

async function managedByPartman(tx: Pick<Db, 'execute'>): Promise<boolean> {
  const [extension] = (await tx.execute<{ schema: string }>(sql`SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'`)).rows;
  if (!extension) return false;
  const config = await tx.execute(sql`SELECT 1 FROM ${sql.identifier(extension.schema)}.part_config WHERE parent_table = 'public.video_snapshots'`);
  return config.rows.length > 0;
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
