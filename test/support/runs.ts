import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../../src/db/client.js';
import { FINISHED_STATUSES, getRuns } from '../../src/db/runs.js';
import type { CrawlRun } from '../../src/db/schema.js';

/** Polls Postgres until every run has ended (completed, failed, cancelled); fails the test after `timeoutMs`. */
export async function waitForRuns(db: Db, runIds: number[], timeoutMs = 45_000): Promise<CrawlRun[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await getRuns(db, runIds);
    if (runs.length === runIds.length && runs.every((run) => FINISHED_STATUSES.includes(run.status))) return runs;
    if (Date.now() > deadline) {
      throw new Error(`runs still live after ${timeoutMs} ms: ${JSON.stringify(runs.map((r) => [r.id, r.status, r.pages, r.lastError]))}`);
    }
    await sleep(50);
  }
}
