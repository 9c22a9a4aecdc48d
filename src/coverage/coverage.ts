import type { StopReason } from '../queue/decide.js';

/**
 * How complete the archive of one hashtag is. The field names of the first five are a contract
 * (`stats --json`, the API, webhooks and exports read them).
 */
export interface Coverage {
  /** The hashtag's own video count (detail endpoint); null until it was looked up. */
  reported: number | null;
  /** Videos archived for the hashtag (taken-down ones included: nothing is deleted). */
  archived: number;
  /** archived / reported, null without a reported count. */
  ratio: number | null;
  /** The feed's size estimated from repeated passes (capture–recapture); null without two. */
  estimatedTotal: number | null;
  /** Videos the feed listed but TikTok failed to load, not archived since: gaps, not errors. */
  fatalItems: number;
  /** Archived videos the last complete full crawl no longer listed (missing_since set). */
  missing: number;
  /** Credits each video new to the archive cost in the latest pass of `--passes`; null when it found none. */
  creditsPerNewVideo: number | null;
  /** Why the archive holds far less than reported, in plain words; null when it does not. */
  explanation: string | null;
}

export interface CoverageFacts {
  reported: number | null;
  archived: number;
  fatalItems: number;
  missing: number;
  estimatedTotal: number | null;
  /** The hashtag's latest run. */
  lastRun: { pages: number; stopReason: string | null; status: string } | null;
  lastPass: { credits: number; newItems: number } | null;
}

/** Below this share of the reported count the figure comes with the reason the feed gave. */
export const LOW_COVERAGE_RATIO = 0.9;

export function coverageOf(facts: CoverageFacts): Coverage {
  const ratio = facts.reported === null || facts.reported === 0 ? null : facts.archived / facts.reported;
  const { lastPass } = facts;
  return {
    reported: facts.reported,
    archived: facts.archived,
    ratio,
    estimatedTotal: facts.estimatedTotal,
    fatalItems: facts.fatalItems,
    missing: facts.missing,
    creditsPerNewVideo: lastPass && lastPass.newItems > 0 ? lastPass.credits / lastPass.newItems : null,
    explanation: ratio !== null && ratio < LOW_COVERAGE_RATIO ? explain(facts) : null,
  };
}

const STOPPED: Record<StopReason, string> = {
  end: 'feed ended at page {page} with hasMore false',
  'cursor-stalled': 'feed ended at page {page}: its cursor stopped advancing',
  'empty-pages': 'feed ended at page {page}: only empty pages while hasMore stayed true',
  'max-pages': 'the last run stopped at page {page} (--max-pages)',
  'max-items': 'the last run stopped at page {page} (--max-items)',
  'no-new-videos': 'the last run (incremental) stopped at page {page}, once pages brought no new video',
  since: 'the last run stopped at page {page} (--since)',
};

/** "feed ended at page 161 with hasMore false: 4,812 of ~737,000 reported". */
function explain(facts: CoverageFacts): string {
  const counts = `${number(facts.archived)} of ~${number(facts.reported ?? 0)} reported`;
  const run = facts.lastRun;
  if (!run) return `no crawl yet: ${counts}`;
  const template = run.status === 'completed' && run.stopReason !== null ? STOPPED[run.stopReason as StopReason] : undefined;
  const why = template ? template.replace('{page}', number(run.pages)) : `the last run is ${run.status} after ${number(run.pages)} pages`;
  return `${why}: ${counts}`;
}

function number(value: number): string {
  return value.toLocaleString('en-US');
}

/** One line for tables: "4,812 / ~737,000 (0.7 %)", or the archived count alone. */
export function coverageCell(coverage: Pick<Coverage, 'archived' | 'reported' | 'ratio'>): string {
  if (coverage.reported === null || coverage.ratio === null) return `${number(coverage.archived)} / ?`;
  return `${number(coverage.archived)} / ~${number(coverage.reported)} (${percent(coverage.ratio)})`;
}

export function percent(ratio: number): string {
  const value = ratio * 100;
  return `${value >= 10 || value === 0 ? Math.round(value) : value.toFixed(1)} %`;
}
