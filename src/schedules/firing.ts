import type { CrawlRun } from '../db/schema.js';

export type UnfinishedRun = Pick<CrawlRun, 'id' | 'status' | 'stopReason'>;

export interface FiringState {
  /** False when the schedule was removed after this firing was already due. */
  scheduleExists: boolean;
  /** Runs of the hashtag that are queued, running or paused, oldest first. */
  unfinishedRuns: UnfinishedRun[];
}

export type FiringDecision = { kind: 'start' } | { kind: 'skip'; reason: string };

/**
 * Start a run, or skip this firing and say why. Never two runs of one hashtag at once: a paused
 * run counts too, since resuming it would otherwise race the new one over the same pages.
 */
export function decideFiring(state: FiringState): FiringDecision {
  if (!state.scheduleExists) return { kind: 'skip', reason: 'the schedule was removed before this firing ran' };
  const [blocking] = state.unfinishedRuns;
  if (!blocking) return { kind: 'start' };
  const why = blocking.status === 'paused' && blocking.stopReason ? ` (${blocking.stopReason})` : '';
  return { kind: 'skip', reason: `run #${blocking.id} of this hashtag is still ${blocking.status}${why}` };
}
