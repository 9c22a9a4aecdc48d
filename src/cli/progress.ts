import cliProgress from 'cli-progress';
import { FINISHED_STATUSES } from '../db/runs.js';
import type { CrawlRun } from '../db/schema.js';
import { remainingPages } from '../server/run-pace.js';
import { formatAge } from './runs-table.js';

/** Aggregate progress of the runs being watched. */
export interface Progress {
  runs: number;
  live: number;
  finished: number;
  pages: number;
  items: number;
  newItems: number;
  credits: number;
  perMin: number;
  /** Pages left before every live run reaches its --max-pages/--max-items; null when one has no limit. */
  remainingPages: number | null;
}

export function summarize(runs: CrawlRun[], perMin: number): Progress {
  const sum = (pick: (run: CrawlRun) => number) => runs.reduce((total, run) => total + pick(run), 0);
  const live = runs.filter((run) => run.status === 'queued' || run.status === 'running');
  const remaining = live.map(remainingPages);
  return {
    runs: runs.length,
    live: live.length,
    finished: runs.filter((run) => FINISHED_STATUSES.includes(run.status)).length,
    pages: sum((run) => run.pages),
    items: sum((run) => run.items),
    newItems: sum((run) => run.newItems),
    credits: sum((run) => run.credits),
    perMin,
    remainingPages: remaining.includes(null) ? null : remaining.reduce<number>((total, pages) => total + pages!, 0),
  };
}

/**
 * Pages per minute over the last minute, from the growth of each run's page count between polls:
 * it follows the crawl as it speeds up or gets throttled, and a run that joins or leaves the
 * watched set (the worker watches whatever is live) does not count as progress.
 */
export function createPaceMeter(windowMs = 60_000) {
  let lastPages = new Map<number, number>();
  let total = 0;
  const samples: Array<{ atMs: number; total: number }> = [];
  return {
    sample(runs: CrawlRun[], nowMs: number): number {
      const current = new Map(runs.map((run) => [run.id, run.pages]));
      for (const [id, pages] of current) total += Math.max(0, pages - (lastPages.get(id) ?? pages));
      lastPages = current;
      samples.push({ atMs: nowMs, total });
      while (samples.length > 2 && nowMs - samples[0]!.atMs > windowMs) samples.shift();
      const spanMs = nowMs - samples[0]!.atMs;
      return spanMs > 0 ? ((total - samples[0]!.total) * 60_000) / spanMs : 0;
    },
  };
}

function hasEnd(progress: Progress): boolean {
  return progress.runs > 0 && progress.remainingPages !== null;
}

export function etaSeconds(progress: Progress): number | null {
  if (!progress.remainingPages || progress.perMin <= 0) return null;
  return Math.round((progress.remainingPages * 60) / progress.perMin);
}

/** The plain line: CI logs and pipes get one every few seconds. */
export function progressLine(progress: Progress): string {
  if (progress.runs === 0) return 'no live runs; waiting for work';
  const eta = etaSeconds(progress);
  return [
    `runs: ${progress.live} live, ${progress.finished}/${progress.runs} done`,
    `pages ${progress.pages}`,
    `items ${progress.items}`,
    `new ${progress.newItems}`,
    `credits ${progress.credits}`,
    `${progress.perMin.toFixed(1)} req/min`,
    ...(eta === null ? [] : [`ETA ${formatAge(eta * 1000)}`]),
  ].join(' · ');
}

export interface ProgressDisplay {
  show(progress: Progress): void;
  /** Leaves the last state on screen and the cursor on a fresh line; may be called any number of times. */
  stop(): void;
}

const PLAIN_EVERY_MS = 5_000;

/** A redrawn bar on a terminal; elsewhere a plain line every few seconds when something changed, and the last state at stop. */
export function progressDisplay(out: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  return out.isTTY ? terminalDisplay(out) : plainDisplay(out);
}

function terminalDisplay(out: NodeJS.WriteStream): ProgressDisplay {
  const bar = new cliProgress.SingleBar({
    stream: out,
    fps: 4,
    linewrap: true,
    hideCursor: true,
    barsize: 20,
    barCompleteChar: '\u2588',
    barIncompleteChar: '\u2591',
    // The bar shows only when the end is known (every live run has a limit); otherwise just the counts.
    format: (options, params, payload: { progress: Progress }) =>
      [hasEnd(payload.progress) ? cliProgress.Format.BarFormat(params.progress, options) : null, progressLine(payload.progress)]
        .filter((part) => part !== null)
        .join(' '),
  });
  let started = false;
  return {
    show(progress) {
      const total = progress.pages + (progress.remainingPages ?? 0);
      if (!started) {
        bar.start(total, progress.pages, { progress });
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(progress.pages, { progress });
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}

function plainDisplay(out: NodeJS.WriteStream): ProgressDisplay {
  let lastLine = '';
  let lastWrittenMs = 0;
  let pending: string | null = null;
  return {
    show(progress) {
      const line = progressLine(progress);
      pending = line === lastLine ? null : line;
      if (pending !== null && Date.now() - lastWrittenMs >= PLAIN_EVERY_MS) {
        out.write(`${pending}\n`);
        lastLine = pending;
        lastWrittenMs = Date.now();
        pending = null;
      }
    },
    stop() {
      if (pending !== null) out.write(`${pending}\n`);
      lastLine = pending ?? lastLine;
      pending = null;
    },
  };
}
