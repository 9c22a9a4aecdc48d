import { setTimeout as sleep } from 'node:timers/promises';
import { inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { FINISHED_STATUSES, getRuns } from '../db/runs.js';
import { crawlRuns, type CrawlRun } from '../db/schema.js';
import { createPaceMeter, progressDisplay, summarize } from './progress.js';

export interface WatchOptions {
  pollMs?: number;
  /** Where progress goes; stderr keeps stdout for the summary. */
  out?: NodeJS.WriteStream;
}

/**
 * Polls the runs until none is live, showing progress: a progress bar on a terminal,
 * a plain line every few seconds otherwise (CI logs, pipes).
 */
export async function watchRuns(db: Db, runIds: number[], options: WatchOptions = {}): Promise<CrawlRun[]> {
  const pollMs = options.pollMs ?? 500;
  const display = progressDisplay(options.out);
  const pace = createPaceMeter();
  try {
    for (;;) {
      const runs = await getRuns(db, runIds);
      display.show(summarize(runs, pace.sample(runs, Date.now())));
      if (runs.every((run) => FINISHED_STATUSES.includes(run.status) || run.status === 'paused')) return runs;
      await sleep(pollMs);
    }
  } finally {
    display.stop();
  }
}

/**
 * For a long-running worker: shows the runs live right now (queued or running), whichever
 * process started them, until closed. A failed poll (Postgres restarting) skips a beat.
 */
export function watchLiveRuns(db: Db, options: WatchOptions = {}): { close(): Promise<void> } {
  const pollMs = options.pollMs ?? 1_000;
  const display = progressDisplay(options.out);
  const pace = createPaceMeter();
  const stop = new AbortController();
  const loop = (async () => {
    while (!stop.signal.aborted) {
      const runs = await db
        .select()
        .from(crawlRuns)
        .where(inArray(crawlRuns.status, ['queued', 'running']))
        .catch(() => null);
      if (runs) display.show(summarize(runs, pace.sample(runs, Date.now())));
      await sleep(pollMs, undefined, { signal: stop.signal }).catch(() => {});
    }
    display.stop();
  })();
  return {
    close() {
      stop.abort();
      return loop;
    },
  };
}
