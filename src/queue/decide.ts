import type { CrawlMode } from '../db/schema.js';

/** Why a run stopped asking for pages. Stored in crawl_runs.stop_reason. */
export type StopReason = 'end' | 'cursor-stalled' | 'empty-pages' | 'max-pages' | 'max-items' | 'no-new-videos' | 'since';

export interface StopLimits {
  maxPages: number | null;
  maxItems: number | null;
  /** Consecutive pages without items, while upstream still says hasMore, before we stop believing it. */
  maxEmptyPages: number;
  mode: CrawlMode;
  /** Incremental mode: consecutive pages without a video new to the hashtag before stopping. */
  stalePagesLimit: number;
  /** Stop once a whole page is older than this (unix ms). */
  sinceMs: number | null;
}

export interface FetchedPage {
  /** The cursor this page was requested with. */
  cursor: string;
  nextCursor: string | null;
  hasMore: boolean;
  itemCount: number;
  /** Items not yet archived under this hashtag; null when deciding before the page is committed. */
  newItems: number | null;
  /** Create time of the page's newest item (unix ms); null when no item has one. */
  newestCreatedAtMs: number | null;
}

export interface RunSoFar {
  /** Pages and items committed before this page. */
  pages: number;
  items: number;
  /** Empty pages, and pages without new videos, in a row just before this one. */
  emptyStreak: number;
  staleStreak: number;
}

export interface Streaks {
  emptyStreak: number;
  staleStreak: number;
}

export type Decision =
  | ({ kind: 'continue'; nextCursor: string } & Streaks)
  | ({ kind: 'stop'; reason: StopReason } & Streaks);

/**
 * After a page: fetch the next one, or stop and why. Pure: every path to termination
 * (upstream's end, a cursor that does not move, endless empty pages, the user's limits,
 * an incremental run catching up with the archive) is decided here and nowhere else.
 */
export function decideAfterPage(page: FetchedPage, soFar: RunSoFar, limits: StopLimits): Decision {
  const streaks: Streaks = {
    emptyStreak: page.itemCount === 0 ? soFar.emptyStreak + 1 : 0,
    staleStreak: page.newItems === 0 ? soFar.staleStreak + 1 : 0,
  };
  const stop = (reason: StopReason): Decision => ({ kind: 'stop', reason, ...streaks });
  if (!page.hasMore) return stop('end');
  if (limits.maxPages !== null && soFar.pages + 1 >= limits.maxPages) return stop('max-pages');
  if (limits.maxItems !== null && soFar.items + page.itemCount >= limits.maxItems) return stop('max-items');
  if (streaks.emptyStreak >= limits.maxEmptyPages) return stop('empty-pages');
  if (limits.mode === 'incremental') {
    if (page.newItems === null) throw new Error('an incremental run decides only once it knows the page\'s new videos');
    if (streaks.staleStreak >= limits.stalePagesLimit) return stop('no-new-videos');
  }
  if (limits.sinceMs !== null && page.newestCreatedAtMs !== null && page.newestCreatedAtMs < limits.sinceMs) return stop('since');
  if (page.nextCursor === null || !cursorAdvances(page.cursor, page.nextCursor)) return stop('cursor-stalled');
  return { kind: 'continue', nextCursor: page.nextCursor, ...streaks };
}

/**
 * Crawlora's cursors are offsets that only grow. Anything else — the same cursor, a smaller
 * one, or something that is not a whole number — would loop or wander, so it ends the run.
 */
export function cursorAdvances(current: string, next: string): boolean {
  if (!/^\d+$/.test(current) || !/^\d+$/.test(next)) return false;
  return BigInt(next) > BigInt(current);
}

/**
 * Whether the next page can be decided from the fetched page alone, before it is committed, so
 * fetching page n+1 overlaps committing page n. Not when the decision needs what the commit
 * learns (an incremental run's new videos) or totals a commit in flight would leave stale (the
 * run's items and credits): those runs go strictly page after page.
 */
export function decidesBeforeCommit(run: { mode: CrawlMode; maxItems: number | null; budgetCredits: number | null }): boolean {
  return run.mode !== 'incremental' && run.maxItems === null && run.budgetCredits === null;
}
