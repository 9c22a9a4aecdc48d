import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/client.js';
import { FINISHED_STATUSES, getRuns } from '../db/runs.js';
import type { CrawlRun } from '../db/schema.js';

export interface WatchOptions {
  pollMs?: number;
  /** Where progress goes; stderr keeps stdout for the summary. */
  out?: NodeJS.WriteStream;
}

/**
 * Polls the runs until none is live, showing progress: one rewritten line on a terminal,
 * a plain line every few seconds otherwise (CI logs, pipes).
 */
export async function watchRuns(db: Db, runIds: number[], options: WatchOptions = {}): Promise<CrawlRun[]> {
  const pollMs = options.pollMs ?? 500;
  const out = options.out ?? process.stderr;
  const startedMs = Date.now();
  let lastPlainMs = 0;
  for (;;) {
    const runs = await getRuns(db, runIds);
    const done = runs.every((run) => FINISHED_STATUSES.includes(run.status) || run.status === 'paused');
    const line = progressLine(runs, Date.now() - startedMs);
    if (out.isTTY) {
      out.write(`\r\x1b[2K${line}${done ? '\n' : ''}`);
    } else if (done || Date.now() - lastPlainMs >= 5_000) {
      out.write(`${line}\n`);
      lastPlainMs = Date.now();
    }
    if (done) return runs;
    await sleep(pollMs);
  }
}

export function progressLine(runs: CrawlRun[], elapsedMs: number): string {
  const sum = (pick: (run: CrawlRun) => number) => runs.reduce((total, run) => total + pick(run), 0);
  const pages = sum((run) => run.pages);
  const finished = runs.filter((run) => FINISHED_STATUSES.includes(run.status)).length;
  const perMin = elapsedMs > 0 ? (pages * 60_000) / elapsedMs : 0;
  return [
    `runs ${finished}/${runs.length} done`,
    `pages ${pages}`,
    `items ${sum((run) => run.items)}`,
    `new ${sum((run) => run.newItems)}`,
    `credits ${sum((run) => run.credits)}`,
    `${perMin.toFixed(1)} req/min`,
  ].join(' · ');
}
