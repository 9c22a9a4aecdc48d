import type { Db } from '../db/client.js';
import { cancelRun, getRun, pauseRun, reopenRun, type ResumePoint } from '../db/runs.js';
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

/** Goes on from the first page not committed yet, under a new generation; nothing committed is fetched again. */
export async function resume(db: Db, queue: PagesQueue, runId: number): Promise<ResumePoint> {
  const point = await reopenRun(db, runId);
  if (!point) throw await stateError(db, runId, 'resumed', 'failed, paused or cancelled with pages left');
  await enqueuePage(queue, {
    runId,
    hashtagId: point.run.hashtagId,
    pageNumber: point.pageNumber,
    cursor: point.cursor,
    emptyStreak: point.emptyStreak,
    staleStreak: point.staleStreak,
    generation: point.run.generation,
  });
  return point;
}

async function stateError(db: Db, runId: number, verb: string, allowed: string): Promise<RunStateError> {
  const run = await getRun(db, runId);
  if (!run) return new RunStateError(`run ${runId} does not exist; see 'hashtag-archiver runs'`, 'not-found');
  const reason = run.stopReason ? ` (${run.stopReason})` : '';
  return new RunStateError(`run ${runId} is ${run.status}${reason}; only ${allowed} runs can be ${verb}`, 'conflict');
}
