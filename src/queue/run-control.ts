import type { Db } from '../db/client.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import { cancelRun, getRun, pauseRun, reopenRun, REOPENABLE_STATUSES, type Reopened } from '../db/runs.js';
import type { CrawlRun } from '../db/schema.js';
import { enqueuePage, type PagesQueue } from './pages-queue.js';

/** The run cannot go where it was asked to (unknown, or in a state that does not allow it). Never retried. */
export class RunStateError extends Error {
  override name = 'RunStateError';
  constructor(message: string, readonly status: 'not-found' | 'conflict') {
    super(message);
  }
}

/**
 * Pause, resume and cancel, shared by the CLI and the dashboard. Pausing and cancelling only
 * change the run's row: its next page job finds it not live and does nothing, so no job has
 * to be hunted down in Redis.
 */
export async function pause(db: Db, runId: number): Promise<void> {
  if (!(await pauseRun(db, runId, 'user', 'paused by a user'))) throw await stateError(db, runId, 'paused', 'queued or running');
}

export async function cancel(db: Db, runId: number): Promise<void> {
  if (!(await cancelRun(db, runId))) throw await stateError(db, runId, 'cancelled', 'queued, running or paused');
}

export interface ResumeOptions {
  /** Raises (or lowers) the run's credit budget; it must leave room for one more page. */
  budgetCredits?: number;
}

/**
 * Goes on from the first page not committed yet, under a new generation; nothing committed is
 * fetched again. A run whose pages are all in completes instead.
 */
export async function resume(db: Db, queue: PagesQueue, runId: number, options: ResumeOptions = {}): Promise<Reopened> {
  const run = await getRun(db, runId);
  if (run && REOPENABLE_STATUSES.includes(run.status)) checkBudget(run, options.budgetCredits);
  const reopened = await reopenRun(db, runId, options.budgetCredits === undefined ? {} : { budgetCredits: options.budgetCredits });
  if (!reopened) throw await stateError(db, runId, 'resumed', 'failed, paused or cancelled');
  if (reopened.kind === 'completed') return reopened;
  await enqueuePage(queue, {
    runId,
    hashtagId: reopened.run.hashtagId,
    pageNumber: reopened.pageNumber,
    cursor: reopened.cursor,
    emptyStreak: reopened.emptyStreak,
    staleStreak: reopened.staleStreak,
    generation: reopened.run.generation,
  });
  return reopened;
}

/** A run resumed under a budget that cannot pay for its next page would only pause again at once. */
function checkBudget(run: CrawlRun, budgetCredits: number | undefined): void {
  const budget = budgetCredits ?? run.budgetCredits;
  if (budget === null || run.credits + CREDITS_PER_REQUEST <= budget) return;
  const needed = run.credits + CREDITS_PER_REQUEST;
  const given = budgetCredits === undefined ? `its budget of ${budget} credits` : `--budget-credits ${budget}`;
  throw new RunStateError(`run ${run.id} has spent ${run.credits} credits and ${given} leaves none for its next page; resume it with --budget-credits ${needed} or more`, 'conflict');
}

async function stateError(db: Db, runId: number, verb: string, allowed: string): Promise<RunStateError> {
  const run = await getRun(db, runId);
  if (!run) return new RunStateError(`run ${runId} does not exist; see 'hashtag-archiver runs'`, 'not-found');
  const reason = run.stopReason ? ` (${run.stopReason})` : '';
  return new RunStateError(`run ${runId} is ${run.status}${reason}; only ${allowed} runs can be ${verb}`, 'conflict');
}
