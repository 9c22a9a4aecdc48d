import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import pRetry from 'p-retry';
import type { CrawloraClient } from '../crawlora/client.js';
import { BadKeyError, CrawloraError, InvalidInputError, RateLimitedError, UpstreamError } from '../crawlora/errors.js';
import type { HashtagPage } from '../crawlora/interpret.js';
import type { RawItem } from '../crawlora/schema.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import type { Db } from '../db/client.js';
import { recordCharge } from '../db/ledger.js';
import { commitPage, findRunAndPage } from '../db/pages.js';
import { failRun, markRunning, noteError, pauseRun, resumeAfterCap, SELF_RESUMING_PAUSES, type PauseReason } from '../db/runs.js';
import type { CrawlPage, CrawlRun } from '../db/schema.js';
import { itemsJsonbForPostgres } from '../db/items-json.js';
import { createdAtMs, dedupeById, toVideoColumns } from '../db/video-row.js';
import type { Logger } from '../logger.js';
import { rateLimitWaitMs } from './backoff.js';
import type { CreditCaps, CreditGate } from './credit-gate.js';
import { decideAfterPage, decidesBeforeCommit } from './decide.js';
import type { ApiKey, KeyChoice, KeyPool } from './key-pool.js';
import { enqueuePage, type PagesQueue } from './pages-queue.js';
import type { PipelineObserver, ResponseOutcome } from './observer.js';
import type { PageJobData } from './payloads.js';
import type { RateLimiter } from './rate-limiter.js';

export interface PageJobDeps {
  db: Db;
  queue: PagesQueue;
  client: CrawloraClient;
  limiter: RateLimiter;
  credits: CreditGate;
  keys: KeyPool;
  logger: Logger;
  observer: PipelineObserver;
  clock: () => Date;
  /** Read at every job, so a changed plan or rate reaches running workers. */
  settings: () => PageJobSettings;
}

export interface PageJobSettings extends CreditCaps {
  ratePerMin: number;
  attempts: number;
  chargedRetries: number;
  maxEmptyPages: number;
  stalePagesLimit: number;
  /** Waits for the rate limit shorter than this are slept inside the job; longer ones release it. */
  inlineWaitMaxMs: number;
}

export type PageJobOutcome = 'stale' | 'already-committed' | 'committed' | 'paused';

/**
 * One page job: fetch, chain, commit (chain after the commit when deciding needs it, see
 * decidesBeforeCommit). Every step is safe to repeat — a job retried after a crash finds its page
 * in crawl_pages, skips the (billed) fetch and only makes sure the next job exists.
 */
export async function processPageJob(job: Job<PageJobData>, token: string | undefined, deps: PageJobDeps): Promise<PageJobOutcome> {
  const data = job.data;
  const log = deps.logger.child({ runId: data.runId, page: data.pageNumber });
  const prepared = await prepareFetch(job, token, deps);
  if ('done' in prepared) return prepared.done;
  const { run, taken } = prepared;
  const { key } = taken;
  const settings = deps.settings();
  const reservation = await deps.credits.reserve(key.fingerprint, CREDITS_PER_REQUEST, settings, deps.clock());
  if (reservation.kind === 'cap-reached') {
    await deps.keys.giveBack(taken);
    const reason: PauseReason = reservation.cap === 'daily' ? 'daily-cap' : 'monthly-credits';
    const what = reservation.cap === 'daily' ? `daily cap of ${settings.dailyCredits}` : `${settings.monthlyCredits} included credits of the month (the plan has no overage)`;
    await pauseRun(deps.db, run.id, reason, `key ${key.fingerprint} reached its ${what}; the run continues by itself at ${reservation.resumeAt.toISOString()}`);
    log.warn({ key: key.fingerprint, resumeAt: reservation.resumeAt }, 'credit cap reached; run paused until the reset');
    throw await delayed(job, token, reservation.resumeAt.getTime() - deps.clock().getTime());
  }

  let page: HashtagPage;
  const fetchStartedMs = performance.now();
  try {
    page = await deps.client.fetchHashtagPage({ apiKey: key.value, hashtagId: data.hashtagId, cursor: data.cursor });
  } catch (err) {
    const charged = err instanceof CrawloraError && err.charged;
    deps.observer.response({ outcome: outcomeOf(err), latencyMs: performance.now() - fetchStartedMs, charged, keyFingerprint: key.fingerprint });
    if (!charged) await reservation.release();
    throw await failureFor(err, key, job, token, run, deps, log);
  }
  deps.observer.response({ outcome: 'ok', latencyMs: performance.now() - fetchStartedMs, charged: true, keyFingerprint: key.fingerprint });

  const items = dedupeById(page.items);
  const limits = {
    maxPages: run.maxPages,
    maxItems: run.maxItems,
    maxEmptyPages: settings.maxEmptyPages,
    mode: run.mode,
    stalePagesLimit: run.stalePagesLimit ?? settings.stalePagesLimit,
    sinceMs: run.since?.getTime() ?? null,
  };
  // Pages are numbered without gaps from 0, so a page's number is how many pages come before it,
  // even while the page before it is still being committed.
  const soFar = { pages: data.pageNumber, items: run.items, emptyStreak: data.emptyStreak, staleStreak: data.staleStreak ?? 0 };
  const facts = { cursor: data.cursor, nextCursor: page.nextCursor, hasMore: page.hasMore, itemCount: items.length, newestCreatedAtMs: newestCreatedAtMs(items) };
  const early = decidesBeforeCommit(run) ? decideAfterPage({ ...facts, newItems: null }, soFar, limits) : null;
  // The next page's fetch overlaps this page's commit. Its job may run before this page is in:
  // the run completes only once every page is, and a resume starts at the first missing one.
  if (early?.kind === 'continue') {
    await enqueueNext(data, early.nextCursor, early, deps.queue);
    // Let the worker pick the next job up before this page's commit is built and sent: the
    // pickup's reply often arrives with the add's, and the commit is not on the critical path.
    await nextTurn();
  }

  const rows = items.map(toVideoColumns);
  const itemsJson = itemsJsonbForPostgres(page.bytes, page.items);
  // The page is paid for: ride out a short Postgres outage here rather than fetch it again.
  const commitStartedMs = performance.now();
  const result = await pRetry(
    () =>
      commitPage(deps.db, {
        runId: data.runId,
        hashtagId: data.hashtagId,
        pageNumber: data.pageNumber,
        cursor: data.cursor,
        hasMore: page.hasMore,
        keyFingerprint: key.fingerprint,
        rows,
        itemsJson,
        credits: CREDITS_PER_REQUEST,
        decide: (newItems) => early ?? decideAfterPage({ ...facts, newItems }, soFar, limits),
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
  deps.observer.pageCommitted({ runId: run.id, items: rows.length, newItems: result.newItems, commitMs: performance.now() - commitStartedMs });
  if (page.invalidItems > 0) log.warn({ invalidItems: page.invalidItems }, 'items without a string id were skipped');
  const { decision } = result;
  if (decision.kind === 'continue') {
    if (!early) await enqueueNext(data, decision.nextCursor, decision, deps.queue);
  } else {
    log.debug({ hashtagId: data.hashtagId, reason: decision.reason }, 'run reached its end');
  }
  return 'committed';
}

/** A job that ends before any request, and what it did instead. */
type JobDone = { done: Exclude<PageJobOutcome, 'committed'> };
type TakenKey = Extract<KeyChoice, { kind: 'key' }>;

/**
 * Everything before the request. The run check and the first try for a key overlap: both sit
 * between two pages of a hashtag. A slot taken for a job that turns out to have nothing to fetch
 * is given back.
 */
async function prepareFetch(
  job: Job<PageJobData>,
  token: string | undefined,
  deps: PageJobDeps,
): Promise<JobDone | { run: CrawlRun; taken: TakenKey }> {
  const choiceStartedMs = performance.now();
  const firstChoice = deps.keys.choose();
  // Awaited below, once the run is known; a failure meanwhile must not go unhandled.
  firstChoice.catch(() => undefined);
  let start: CrawlRun | JobDone;
  try {
    start = await beforeFetch(await findRunAndPage(deps.db, job.data.runId, job.data.pageNumber), job.data, deps);
  } catch (err) {
    await firstChoice.then((choice) => deps.keys.giveBack(choice)).catch(() => undefined);
    throw err;
  }
  if ('done' in start) {
    await deps.keys.giveBack(await firstChoice);
    return start;
  }
  return { run: start, taken: await takeKey(job, token, deps, await freshChoice(await firstChoice, choiceStartedMs, deps.keys)) };
}

/** The run to fetch for, or what the job did instead: nothing (stale), only chain (page in), or pause on the budget. */
async function beforeFetch(head: { run: CrawlRun; page: CrawlPage | null } | undefined, data: PageJobData, deps: PageJobDeps): Promise<CrawlRun | JobDone> {
  const run = head && (await liveRun(deps.db, head.run, data));
  if (!run) return { done: 'stale' };
  if (head.page) {
    await chainAfter(head.page, data, deps);
    return { done: 'already-committed' };
  }
  if (run.budgetCredits !== null && run.credits + CREDITS_PER_REQUEST > run.budgetCredits) {
    await pauseRun(deps.db, run.id, 'budget', `budget of ${run.budgetCredits} credits reached (${run.credits} spent); resume with a larger --budget-credits`);
    return { done: 'paused' };
  }
  if (run.status === 'queued') await markRunning(deps.db, data.runId);
  return run;
}

/** The job's run, when the job should still do something for it; a run paused on a cap comes back to life here. */
async function liveRun(db: Db, run: CrawlRun, data: PageJobData): Promise<CrawlRun | undefined> {
  if (run.generation !== data.generation) return undefined;
  if (run.status === 'paused' && SELF_RESUMING_PAUSES.includes(run.stopReason as PauseReason)) {
    await resumeAfterCap(db, run.id);
    return { ...run, status: 'running' };
  }
  return run.status === 'queued' || run.status === 'running' ? run : undefined;
}

function outcomeOf(err: unknown): ResponseOutcome {
  if (err instanceof RateLimitedError) return 'rate-limited';
  if (err instanceof BadKeyError) return 'bad-key';
  if (err instanceof InvalidInputError) return 'invalid-input';
  if (err instanceof UpstreamError) return 'upstream-error';
  return 'transient';
}

function newestCreatedAtMs(items: RawItem[]): number | null {
  let newest: number | null = null;
  for (const item of items) {
    const ms = createdAtMs(item);
    if (ms !== null && (newest === null || ms > newest)) newest = ms;
  }
  return newest;
}

function chainAfter(page: CrawlPage, data: PageJobData, deps: PageJobDeps): Promise<void> {
  return page.nextCursor === null ? Promise.resolve() : enqueueNext(data, page.nextCursor, page, deps.queue);
}

function enqueueNext(data: PageJobData, cursor: string, streaks: { emptyStreak: number; staleStreak: number }, queue: PagesQueue): Promise<void> {
  return enqueuePage(queue, {
    ...data,
    pageNumber: data.pageNumber + 1,
    cursor,
    emptyStreak: streaks.emptyStreak,
    staleStreak: streaks.staleStreak,
  });
}

/**
 * The limiter counts a request when it admits it, and its margin for requests that reach
 * Crawlora later than admitted is 50 ms at the shortest window. A slot older than this by the
 * time the run check is done (Postgres was slow) is given back and taken again.
 */
const MAX_SLOT_AGE_MS = 10;

async function freshChoice(choice: KeyChoice, startedMs: number, keys: KeyPool): Promise<KeyChoice> {
  if (choice.kind !== 'key' || performance.now() - startedMs <= MAX_SLOT_AGE_MS) return choice;
  await keys.giveBack(choice);
  return keys.choose();
}

/**
 * A key whose limiter admits a request now. A short wait is slept here; a long one puts the job
 * back as delayed, which spends no attempt and frees the worker for other keys' pages.
 */
async function takeKey(
  job: Job<PageJobData>,
  token: string | undefined,
  deps: PageJobDeps,
  firstChoice: KeyChoice,
): Promise<TakenKey> {
  for (let choice = firstChoice; ; choice = await deps.keys.choose()) {
    if (choice.kind === 'key') return choice;
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
  await job.moveToDelayed(Date.now() + Math.max(0, waitMs), token);
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
  if (err instanceof CrawloraError && err.charged) {
    await recordCharge(deps.db, { keyFingerprint: key.fingerprint, endpoint: 'hashtags', hashtagId: run.hashtagId, runId: run.id, credits: CREDITS_PER_REQUEST });
  }

  if (err instanceof RateLimitedError) {
    const waitMs = rateLimitWaitMs(err.retryAfterMs, settings.ratePerMin);
    await deps.limiter.pause(key.fingerprint, waitMs);
    log.warn({ key: key.fingerprint, waitMs, dailyCapReached: err.dailyCapReached }, 'rate limited by Crawlora; key paused');
    if (err.dailyCapReached) {
      await pauseRun(deps.db, run.id, 'daily-cap', `${message}; the run continues by itself in ${Math.ceil(waitMs / 60_000)} min`);
    }
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
