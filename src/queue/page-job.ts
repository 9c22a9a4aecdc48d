import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import type { CrawloraClient } from '../crawlora/client.js';
import {
  BadKeyError,
  CrawloraError,
  InvalidInputError,
  RateLimitedError,
  UpstreamError,
} from '../crawlora/errors.js';
import type { HashtagPage } from '../crawlora/interpret.js';
import type { Db } from '../db/client.js';
import { commitPage, findPage } from '../db/pages.js';
import { addCredits, failRun, getRun, markRunning, noteError } from '../db/runs.js';
import type { CrawlPage, CrawlRun } from '../db/schema.js';
import { dedupeById, toVideoRow } from '../db/video-row.js';
import type { Logger } from '../logger.js';
import { rateLimitWaitMs } from './backoff.js';
import { decideAfterPage } from './decide.js';
import type { ApiKey, KeyPool } from './key-pool.js';
import { enqueuePage, type PagesQueue } from './pages-queue.js';
import type { PageJobData } from './payloads.js';
import type { RateLimiter } from './rate-limiter.js';

export interface PageJobDeps {
  db: Db;
  queue: PagesQueue;
  client: CrawloraClient;
  limiter: RateLimiter;
  keys: KeyPool;
  logger: Logger;
  settings: () => PageJobSettings;
}

export interface PageJobSettings {
  ratePerMin: number;
  attempts: number;
  chargedRetries: number;
  maxEmptyPages: number;
  /** Waits for the rate limit shorter than this are slept inside the job; longer ones release it. */
  inlineWaitMaxMs: number;
}

export type PageJobOutcome = 'stale' | 'already-committed' | 'committed';

const LIVE = new Set(['queued', 'running']);

/**
 * One page job: fetch, commit, chain. Every step is safe to repeat — a job retried after a
 * crash finds its page in crawl_pages, skips the (billed) fetch and only makes sure the next
 * job exists.
 */
export async function processPageJob(job: Job<PageJobData>, token: string | undefined, deps: PageJobDeps): Promise<PageJobOutcome> {
  const data = job.data;
  const log = deps.logger.child({ runId: data.runId, page: data.pageNumber });
  const run = await getRun(deps.db, data.runId);
  if (!run || run.generation !== data.generation || !LIVE.has(run.status)) return 'stale';

  const existing = await findPage(deps.db, data.runId, data.pageNumber);
  if (existing) {
    await chainAfter(existing, data, deps);
    return 'already-committed';
  }
  await markRunning(deps.db, data.runId);

  const key = await takeKey(job, token, deps);
  let page: HashtagPage;
  try {
    page = await deps.client.fetchHashtagPage({ apiKey: key.value, hashtagId: data.hashtagId, cursor: data.cursor });
  } catch (err) {
    throw await failureFor(err, key, job, token, run, deps, log);
  }

  const rows = dedupeById(page.items).map(toVideoRow);
  const settings = deps.settings();
  const decision = decideAfterPage(
    { cursor: data.cursor, nextCursor: page.nextCursor, hasMore: page.hasMore, itemCount: rows.length },
    { pages: run.pages, items: run.items, emptyStreak: data.emptyStreak },
    { maxPages: run.maxPages, maxItems: run.maxItems, maxEmptyPages: settings.maxEmptyPages },
  );
  // The page is paid for: ride out a short Postgres outage here rather than fetch it again.
  const result = await pRetry(
    () =>
      commitPage(deps.db, {
        runId: data.runId,
        hashtagId: data.hashtagId,
        pageNumber: data.pageNumber,
        cursor: data.cursor,
        nextCursor: decision.kind === 'continue' ? decision.nextCursor : null,
        hasMore: page.hasMore,
        emptyStreak: decision.emptyStreak,
        rows,
        credits: CREDITS_PER_REQUEST,
        stopReason: decision.kind === 'stop' ? decision.reason : null,
      }),
    {
      retries: 6,
      minTimeout: 250,
      maxTimeout: 5_000,
      onFailedAttempt: ({ error, attemptNumber }) => log.warn({ err: error, attemptNumber }, 'page commit failed; retrying'),
    },
  );
  if (!result.committed) {
    await chainAfter(result.existing, data, deps);
    return 'already-committed';
  }
  if (page.invalidItems > 0) log.warn({ invalidItems: page.invalidItems }, 'items without a string id were skipped');
  if (decision.kind === 'continue') {
    await enqueueNext(data, decision.nextCursor, decision.emptyStreak, deps.queue);
  } else {
    log.debug({ hashtagId: data.hashtagId, reason: decision.reason }, 'run reached its end');
  }
  return 'committed';
}

function chainAfter(page: CrawlPage, data: PageJobData, deps: PageJobDeps): Promise<void> {
  return page.nextCursor === null ? Promise.resolve() : enqueueNext(data, page.nextCursor, page.emptyStreak, deps.queue);
}

function enqueueNext(data: PageJobData, cursor: string, emptyStreak: number, queue: PagesQueue): Promise<void> {
  return enqueuePage(queue, { ...data, pageNumber: data.pageNumber + 1, cursor, emptyStreak });
}

/**
 * A key whose limiter admits a request now. A short wait is slept here; a long one puts the job
 * back as delayed, which spends no attempt and frees the worker for other keys' pages.
 */
async function takeKey(job: Job<PageJobData>, token: string | undefined, deps: PageJobDeps): Promise<ApiKey> {
  for (;;) {
    const choice = await deps.keys.choose();
    if (choice.kind === 'key') return choice.key;
    if (choice.kind === 'none-left') {
      const message = 'every API key was refused by Crawlora (401/403); set a valid CRAWLORA_API_KEY and resume the run';
      await failRun(deps.db, job.data.runId, message);
      throw new UnrecoverableError(message);
    }
    if (choice.waitMs > deps.settings().inlineWaitMaxMs) throw await delayed(job, token, choice.waitMs);
    await sleep(choice.waitMs);
  }
}

/** Puts the job back to run after `waitMs`; the returned error tells BullMQ it was moved, not failed. */
async function delayed(job: Job<PageJobData>, token: string | undefined, waitMs: number): Promise<DelayedError> {
  await job.moveToDelayed(Date.now() + waitMs, token);
  return new DelayedError();
}

/** Maps a failed fetch to what BullMQ should do with the job, recording what the run needs to show. */
async function failureFor(
  err: unknown,
  key: ApiKey,
  job: Job<PageJobData>,
  token: string | undefined,
  run: CrawlRun,
  deps: PageJobDeps,
  log: Logger,
): Promise<Error> {
  const settings = deps.settings();
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CrawloraError && err.charged) await addCredits(deps.db, run.id, CREDITS_PER_REQUEST);

  if (err instanceof RateLimitedError) {
    const waitMs = rateLimitWaitMs(err.retryAfterMs, settings.ratePerMin);
    await deps.limiter.pause(key.fingerprint, waitMs);
    log.warn({ key: key.fingerprint, waitMs, dailyCapReached: err.dailyCapReached }, 'rate limited by Crawlora; key paused');
    if (err.dailyCapReached) await noteError(deps.db, run.id, `${message}; the run continues when the cap resets`);
    return delayed(job, token, waitMs);
  }
  if (err instanceof BadKeyError) {
    if (await deps.keys.disable(key)) log.error({ key: key.fingerprint, status: err.status }, 'Crawlora refused this API key; it is disabled');
    // Another key may still serve this page: come back at once without spending an attempt.
    return delayed(job, token, 0);
  }
  if (err instanceof InvalidInputError) {
    await failRun(deps.db, run.id, `${message}; hashtag ${run.hashtagId} at cursor ${job.data.cursor} will not be retried`);
    return new UnrecoverableError(message);
  }
  if (err instanceof UpstreamError && job.attemptsMade >= settings.chargedRetries) {
    await failRun(deps.db, run.id, `${message} (gave up after ${job.attemptsMade + 1} billed tries)`);
    return new UnrecoverableError(message);
  }
  if (job.attemptsMade + 1 >= (job.opts.attempts ?? settings.attempts)) {
    await failRun(deps.db, run.id, `${message} (after ${job.attemptsMade + 1} attempts)`);
  } else {
    await noteError(deps.db, run.id, message);
  }
  return err instanceof Error ? err : new Error(message);
}
