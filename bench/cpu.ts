import { readFileSync } from 'node:fs';
import pg from 'pg';
import { SERVICES } from './services.js';

/**
 * CPU time by process, to say what a throughput figure is limited by: every process of a run
 * (Postgres, Redis, the simulator, the crawler) shares the same cores.
 */

const CLOCK_TICKS = 100;

/** User + system CPU seconds a live process has used; 0 once it is gone. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** This process's CPU seconds so far. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

/**
 * CPU seconds used so far by the Postgres backends connected to one database. Backends of a
 * fresh database are all the run's own, so at the end of a run this is what its queries cost.
 */
export async function postgresBackendsCpu(databaseName: string): Promise<number> {
  const client = new pg.Client({ connectionString: SERVICES.databaseUrl });
  client.on('error', () => {});
  await client.connect();
  try {
    const result = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [databaseName]);
    return result.rows.reduce((sum, row) => sum + cpuSecondsOf(row.pid), 0);
  } finally {
    await client.end();
  }
}
