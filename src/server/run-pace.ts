import { ITEMS_PER_PAGE } from '../crawlora/plans.js';
import type { CrawlRun } from '../db/schema.js';

export interface RunPace {
  /** Pages (one request each) per minute since the run started; null before its first page. */
  requestsPerMin: number | null;
  /** Seconds left at that pace; null unless the run is live and bounded by --max-pages or --max-items. */
  etaSeconds: number | null;
}

type PaceFacts = Pick<CrawlRun, 'status' | 'pages' | 'items' | 'maxPages' | 'maxItems' | 'startedAt' | 'finishedAt'>;

/** An unbounded run's end is unknown until upstream says there is no more, so it has no ETA. */
export function runPace(run: PaceFacts, nowMs: number): RunPace {
  const elapsedMs = run.startedAt === null ? 0 : (run.finishedAt?.getTime() ?? nowMs) - run.startedAt.getTime();
  if (run.pages === 0 || elapsedMs <= 0) return { requestsPerMin: null, etaSeconds: null };
  const requestsPerMin = (run.pages * 60_000) / elapsedMs;
  const live = run.status === 'queued' || run.status === 'running';
  const remaining = remainingPages(run);
  return {
    requestsPerMin: Math.round(requestsPerMin * 10) / 10,
    etaSeconds: live && remaining !== null ? Math.round((remaining * 60) / requestsPerMin) : null,
  };
}

/** Pages still to fetch before a limit stops the run: whichever limit comes first. */
export function remainingPages(run: PaceFacts): number | null {
  const bounds = [
    run.maxPages === null ? null : run.maxPages - run.pages,
    run.maxItems === null ? null : Math.ceil((run.maxItems - run.items) / ITEMS_PER_PAGE),
  ].filter((bound): bound is number => bound !== null);
  return bounds.length === 0 ? null : Math.max(0, Math.min(...bounds));
}
