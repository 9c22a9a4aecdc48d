/** Why a run stopped asking for pages. Stored in crawl_runs.stop_reason. */
export type StopReason = 'end' | 'cursor-stalled' | 'empty-pages' | 'max-pages' | 'max-items';

export interface StopLimits {
  maxPages: number | null;
  maxItems: number | null;
  /** Consecutive pages without items, while upstream still says hasMore, before we stop believing it. */
  maxEmptyPages: number;
}

export interface FetchedPage {
  /** The cursor this page was requested with. */
  cursor: string;
  nextCursor: string | null;
  hasMore: boolean;
  itemCount: number;
}

export interface RunSoFar {
  /** Pages and items committed before this page. */
  pages: number;
  items: number;
  /** Empty pages in a row just before this one. */
  emptyStreak: number;
}

export type Decision =
  | { kind: 'continue'; nextCursor: string; emptyStreak: number }
  | { kind: 'stop'; reason: StopReason; emptyStreak: number };

/**
 * After a page: fetch the next one, or stop and why. Pure: every path to termination
 * (upstream's end, a cursor that does not move, endless empty pages, the user's limits)
 * is decided here and nowhere else.
 */
export function decideAfterPage(page: FetchedPage, soFar: RunSoFar, limits: StopLimits): Decision {
  const emptyStreak = page.itemCount === 0 ? soFar.emptyStreak + 1 : 0;
  const stop = (reason: StopReason): Decision => ({ kind: 'stop', reason, emptyStreak });
  if (!page.hasMore) return stop('end');
  if (limits.maxPages !== null && soFar.pages + 1 >= limits.maxPages) return stop('max-pages');
  if (limits.maxItems !== null && soFar.items + page.itemCount >= limits.maxItems) return stop('max-items');
  if (emptyStreak >= limits.maxEmptyPages) return stop('empty-pages');
  if (page.nextCursor === null || !cursorAdvances(page.cursor, page.nextCursor)) return stop('cursor-stalled');
  return { kind: 'continue', nextCursor: page.nextCursor, emptyStreak };
}

/**
 * Crawlora's cursors are offsets that only grow. Anything else — the same cursor, a smaller
 * one, or something that is not a whole number — would loop or wander, so it ends the run.
 */
export function cursorAdvances(current: string, next: string): boolean {
  if (!/^\d+$/.test(current) || !/^\d+$/.test(next)) return false;
  return BigInt(next) > BigInt(current);
}
