import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import pRetry from 'p-retry';
import type { CoverageLookup } from '../coverage/lookup.js';
import type { CrawloraClient } from '../crawlora/client.js';
import { BadKeyError, CrawloraError, InvalidInputError, RateLimitedError, UpstreamError } from '../crawlora/errors.js';
import { interpretHashtagPage, type HashtagPage } from '../crawlora/interpret.js';
import type { RawItem } from '../crawlora/schema.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import type { Db } from '../db/client.js';
import { recordCharge } from '../db/ledger.js';
import { commitPage, findRunAndPage } from '../db/pages.js';
import { failRun, markRunning, noteError, pauseRun, resumeAfterCap, SELF_RESUMING_PAUSES, type PauseReason } from '../db/runs.js';
import type { CrawlPage, CrawlRun } from '../db/schema.js';
import { itemsJsonbForPostgres } from '../db/items-json.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { createdAtMs, dedupeById, toVideoColumns, unreadableCreateTimes } from '../db/video-row.js';
import type { Logger } from '../logger.js';
import { rateLimitWaitMs } from './backoff.js';
import type { CreditCaps, CreditGate } from './credit-gate.js';
import { decideAfterPage, decidesBeforeCommit } from './decide.js';
import { keyAccepted, noteKeyAccepted, onTime, untilReady, type KeyChoice, type KeyPool, type TakenKey } from './key-pool.js';
import { enqueuePage, firstPageJob, type PagesQueue } from './pages-queue.js';
import type { HeldAnswer, NotedCharge, PaidAnswers, PendingCharge } from './paid-answers.js';
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
  /** Charges and answers paid for and not in Postgres yet, and the claims on pages being fetched. */
  answers: PaidAnswers;
  /** This process in the live workers' set (worker-liveness.ts): the owner of its claims and noted charges. */
  workerId: string;
  /** Aborted shortly before the close deadline: requests still in flight are cut, their jobs put back. */
  shutdown?: AbortSignal;
  /** Read at every job, so a changed plan or rate reaches running workers. */
  settings: () => PageJobSettings;
  /** Looks up a hashtag's reported count after its run's first page (HA_COVERAGE); none: never. */
  coverage?: CoverageLookup;
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
 * in crawl_pages, skips the (billed) fetch and only makes sure the next job exists; one whose paid
 * answer was held in Redis commits that answer instead of buying it again. While Postgres does
 * not answer, the job waits as a delayed job: an outage spends no attempt.
 */
export async function processPageJob(job: Job<PageJobData>, token: string | undefined, deps: PageJobDeps): Promise<PageJobOutcome> {
  try {
    return await pageJob(job, token, deps);
  } catch (err) {
    if (!isDatabaseUnavailable(err)) throw err;
    const waitMs = outageWaitMs();
    deps.logger.warn({ runId: job.data.runId, page: job.data.pageNumber, waitMs, err: { message: (err as Error).message } }, 'Postgres does not answer; the page job waits without spending an attempt');
    throw await delayed(job, token, waitMs);
  }
}

/** A duplicate job of a page being fetched comes back this soon to find it committed (or its claim free again). */
const CLAIM_WAIT_MS = 1_000;

/** Jobs waiting out an outage come back spread over a few seconds, not all at once. */
function outageWaitMs(): number {
  return 2_000 + Math.floor(Math.random() * 3_000);
}

/** A billed answer's charge, as the ledger will record it once. */
interface PaidCharge {
  chargeId: string;
  keyFingerprint: string;
  chargedAtMs: number;
}

async function pageJob(job: Job<PageJobData>, token: string | undefined, deps: PageJobDeps): Promise<PageJobOutcome> {
  const data = job.data;
  const log = deps.logger.child({ runId: data.runId, page: data.pageNumber });
  const prepared = await prepareFetch(job, token, deps);
  if ('done' in prepared) return prepared.done;
  const { run } = prepared;
  const settings = deps.settings();
  const { page, charge, noted, held } = 'held' in prepared ? heldPage(prepared.held) : await buyPage(job, token, run, prepared.taken, deps, log);

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
  // The page is paid for: ride out a short Postgres outage here rather than fetch it again. From
  // the first failure on, the answer is also held in Redis, so a job that gives up (or a worker
  // that dies) leaves it to the next try instead of buying it again.
  let answerHeld = held;
  const commitStartedMs = performance.now();
  const result = await pRetry(
    () =>
      commitPage(deps.db, {
        runId: data.runId,
        hashtagId: data.hashtagId,
        pageNumber: data.pageNumber,
        cursor: data.cursor,
        hasMore: page.hasMore,
        logId: page.logId,
        fatalItemIds: page.fatalItemIds,
        keyFingerprint: charge.keyFingerprint,
        chargeId: charge.chargeId,
        chargedAt: new Date(charge.chargedAtMs),
        rows,
        itemsJson,
        credits: CREDITS_PER_REQUEST,
        decide: (newItems) => early ?? decideAfterPage({ ...facts, newItems }, soFar, limits),
      }),
    {
      retries: 6,
      minTimeout: 250,
      maxTimeout: 5_000,
      onFailedAttempt: async ({ error, attemptNumber }) => {
        log.warn({ err: error, attemptNumber }, 'page commit failed; retrying');
        if (!answerHeld) {
          answerHeld = true;
          await deps.answers.hold(data.runId, data.pageNumber, { ...charge, cursor: data.cursor, bytes: page.bytes });
        }
        // Shutting down: the held answer waits for whoever takes the job next.
        if (deps.shutdown?.aborted) throw error;
      },
    },
  );
  await noted;
  if (!result.committed) {
    // Another job of this page committed first (a duplicate after pause → resume): this answer was billed all the same.
    await recordCharge(deps.db, pageCharge(charge, data));
    await Promise.all([deps.answers.release(data.runId, data.pageNumber, data.cursor, charge.chargeId), chainAfter(result.existing, data, deps)]);
    return 'already-committed';
  }
  deps.observer.pageCommitted({ runId: run.id, items: rows.length, newItems: result.newItems, commitMs: performance.now() - commitStartedMs });
  if (page.invalidItems > 0) log.warn({ invalidItems: page.invalidItems }, 'items without a string id were skipped');
  const unreadable = unreadableCreateTimes(items);
  if (unreadable > 0) log.warn({ items: unreadable }, 'createTime neither seconds nor milliseconds; stored as null (raw keeps it)');
  const { decision } = result;
  const released = deps.answers.release(data.runId, data.pageNumber, data.cursor, charge.chargeId);
  if (decision.kind === 'continue') {
    if (!early) await enqueueNext(data, decision.nextCursor, decision, deps.queue);
  } else {
    log.debug({ hashtagId: data.hashtagId, reason: decision.reason }, 'run reached its end');
  }
  if (result.nextPass) await enqueuePage(deps.queue, firstPageJob(result.nextPass, data.priority));
  if (data.pageNumber === 0) await deps.coverage?.afterFirstPage(data.hashtagId, items);
  await released;
  return 'committed';
}

/** A page in hand, paid for: bought now, or held from an earlier try. */
interface PaidPage {
  page: HashtagPage;
  charge: PaidCharge;
  /** The charge noted in Redis (settled once done with). */
  noted: Promise<void>;
  /** Already held in Redis. */
  held: boolean;
}

function heldPage(held: HeldAnswer): PaidPage {
  const page = interpretHashtagPage({ status: 200, retryAfter: null, bytes: held.bytes, nowMs: Date.now() });
  return { page, charge: { chargeId: held.chargeId, keyFingerprint: held.keyFingerprint, chargedAtMs: held.chargedAtMs }, noted: Promise.resolve(), held: true };
}

/**
 * Within the credit caps, one request, claimed first: its charge is noted in Redis as in flight
 * before it leaves (a worker killed before the answer arrives still leaves it for the ledger, as
 * uncertain), and as billed the moment the answer arrives. A page another live worker is fetching
 * is not bought again: the job waits for that one's answer.
 */
async function buyPage(job: Job<PageJobData>, token: string | undefined, run: CrawlRun, taken: TakenKey, deps: PageJobDeps, log: Logger): Promise<PaidPage> {
  const data = job.data;
  const { key } = taken;
  const settings = deps.settings();
  const requested: PaidCharge = { chargeId: randomUUID(), keyFingerprint: key.fingerprint, chargedAtMs: Date.now() };
  // Both before the request, neither waiting for the other: the claim adds no round trip to the page.
  const [reservation, claimed] = await Promise.all([
    deps.credits.reserve(key.fingerprint, CREDITS_PER_REQUEST, settings),
    deps.answers.claimFetch(notedCharge(requested, data, deps.workerId, true), data.cursor),
  ]);
  if (!claimed) {
    if (reservation.kind === 'reserved') await reservation.release();
    await deps.keys.giveBack(taken);
    log.debug({ cursor: data.cursor }, 'another live worker is fetching this page; waiting for its answer');
    throw await delayed(job, token, CLAIM_WAIT_MS);
  }
  if (reservation.kind === 'cap-reached') {
    await deps.answers.dropClaim(requested.chargeId, data.runId, data.cursor);
    await deps.keys.giveBack(taken);
    const reason: PauseReason = reservation.cap === 'daily' ? 'daily-cap' : 'monthly-credits';
    const what = reservation.cap === 'daily' ? `daily cap of ${settings.dailyCredits}` : `${settings.monthlyCredits} included credits of the month (the plan has no overage)`;
    await pauseRun(deps.db, run.id, reason, `key ${key.fingerprint} reached its ${what}; the run continues by itself at ${reservation.resumeAt.toISOString()}`);
    log.warn({ key: key.fingerprint, resumeAt: reservation.resumeAt }, 'credit cap reached; run paused until the reset');
    throw await delayed(job, token, reservation.waitMs);
  }
  // What ran since the slot's moment (the credit counters' first seeding from the ledger, a
  // stalled event loop) may have made it late: sent now, it would crowd the next requests into
  // one window of upstream's. The job goes back to take a fresh slot; the late one is spent.
  if (!onTime(taken)) {
    await Promise.all([reservation.release(), deps.answers.dropClaim(requested.chargeId, data.runId, data.cursor), deps.keys.giveBack(taken)]);
    log.debug({ cursor: data.cursor }, 'the slot passed its grace before the request could leave; taking a new one');
    throw await delayed(job, token, 0);
  }

  let page: HashtagPage;
  const fetchStartedMs = performance.now();
  try {
    page = await deps.client.fetchHashtagPage({ apiKey: key.value, hashtagId: data.hashtagId, cursor: data.cursor, ...(deps.shutdown ? { signal: deps.shutdown } : {}) });
  } catch (err) {
    const charged = err instanceof CrawloraError && err.charged;
    deps.observer.response({ outcome: outcomeOf(err), latencyMs: performance.now() - fetchStartedMs, charged, keyFingerprint: key.fingerprint });
    // A request we stopped waiting for keeps its credits reserved: it may have been billed.
    if (!charged && !(err instanceof CrawloraError && err.possiblyCharged)) {
      await Promise.all([reservation.release(), deps.answers.dropClaim(requested.chargeId, data.runId, data.cursor)]);
    }
    if (keyAccepted(err)) await noteKeyAccepted(taken, deps.keys, log);
    throw await failureFor(err, taken, requested, job, token, run, deps, log);
  }
  const charge: PaidCharge = { ...requested, chargedAtMs: Date.now() };
  const noted = deps.answers
    .noteCharge(notedCharge(charge, data, deps.workerId, false))
    .catch((err: unknown) => log.error({ err }, 'could not note the charge in Redis; the page commit records it'));
  deps.observer.response({ outcome: 'ok', latencyMs: performance.now() - fetchStartedMs, charged: true, keyFingerprint: key.fingerprint });
  await noteKeyAccepted(taken, deps.keys, log);
  return { page, charge, noted, held: false };
}

function pageCharge(charge: PaidCharge, data: PageJobData, uncertain = false): PendingCharge {
  return {
    chargeId: charge.chargeId,
    keyFingerprint: charge.keyFingerprint,
    endpoint: 'hashtags',
    hashtagId: data.hashtagId,
    runId: data.runId,
    credits: CREDITS_PER_REQUEST,
    uncertain,
    chargedAt: new Date(charge.chargedAtMs),
  };
}

function notedCharge(charge: PaidCharge, data: PageJobData, owner: string, inFlight: boolean, uncertain = false): NotedCharge {
  return { ...pageCharge(charge, data, uncertain), owner, inFlight };
}

/** A job that ends before any request, and what it did instead. */
type JobDone = { done: Exclude<PageJobOutcome, 'committed'> };
type Fetchable = { run: CrawlRun; taken: TakenKey } | { run: CrawlRun; held: HeldAnswer };

/** Everything before the request: the run check (overlapping the look for a held answer), then a key's slot. */
async function prepareFetch(job: Job<PageJobData>, token: string | undefined, deps: PageJobDeps): Promise<JobDone | Fetchable> {
  const heldLookup = deps.answers.find(job.data.runId, job.data.pageNumber);
  heldLookup.catch(() => undefined);
  const start = await beforeFetch(await findRunAndPage(deps.db, job.data.runId, job.data.pageNumber), job.data, heldLookup, deps);
  if ('done' in start || start.held) return 'done' in start ? start : { run: start.run, held: start.held! };
  // The slot is reserved once the run check is done: a slot reserved before it and outlived by a
  // slow check could only be dropped (a gap in the pace), and pages in flight cover the wait.
  return { run: start.run, taken: await takeKey(job, token, deps, await deps.keys.choose()) };
}

/**
 * The run to fetch for (with the answer an earlier try held, if any), or what the job did
 * instead: nothing (stale), only chain (page in), or pause on the budget.
 */
async function beforeFetch(
  head: { run: CrawlRun; page: CrawlPage | null } | undefined,
  data: PageJobData,
  heldLookup: Promise<HeldAnswer | null>,
  deps: PageJobDeps,
): Promise<{ run: CrawlRun; held: HeldAnswer | null } | JobDone> {
  const run = head && (await liveRun(deps.db, head.run, data));
  if (!run) return { done: 'stale' };
  const found = await heldLookup;
  const held = found && found.cursor === data.cursor ? found : null;
  if (head.page) {
    if (found) {
      await recordCharge(deps.db, pageCharge(found, data));
      await deps.answers.release(data.runId, data.pageNumber, found.cursor, found.chargeId);
    }
    await chainAfter(head.page, data, deps);
    return { done: 'already-committed' };
  }
  // A held answer is paid for already: committing it spends nothing more.
  if (!held && run.budgetCredits !== null && run.credits + CREDITS_PER_REQUEST > run.budgetCredits) {
    await pauseRun(deps.db, run.id, 'budget', `budget of ${run.budgetCredits} credits reached (${run.credits} spent); resume with a larger --budget-credits`);
    return { done: 'paused' };
  }
  if (run.status === 'queued') await markRunning(deps.db, data.runId);
  return { run, held };
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
 * A key whose limiter admits a request now, once its slot's moment has come. A short wait is
 * slept here; a long one puts the job back as delayed, which spends no attempt and frees the
 * worker for other keys' pages.
 */
async function takeKey(
  job: Job<PageJobData>,
  token: string | undefined,
  deps: PageJobDeps,
  firstChoice: KeyChoice,
): Promise<TakenKey> {
  for (let choice = firstChoice; ; choice = await deps.keys.choose()) {
    if (choice.kind === 'key') {
      if (await untilReady(choice)) return choice;
      await deps.keys.giveBack(choice);
      continue;
    }
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
  taken: TakenKey,
  requested: PaidCharge,
  job: Job<PageJobData>,
  token: string | undefined,
  run: CrawlRun,
  deps: PageJobDeps,
  log: Logger,
): Promise<Error> {
  const { key } = taken;
  const settings = deps.settings();
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof CrawloraError && (err.charged || err.possiblyCharged)) {
    const charge = notedCharge({ ...requested, chargedAtMs: Date.now() }, job.data, deps.workerId, false, err.possiblyCharged);
    // Noted as billed first: with Postgres away, the ledger gets it from Redis later.
    await deps.answers.noteCharge(charge);
    await recordCharge(deps.db, charge);
    await deps.answers.dropClaim(charge.chargeId, job.data.runId, job.data.cursor);
  }
  // Cut at shutdown: the next worker asks again, and no attempt is spent on it.
  if (deps.shutdown?.aborted) return delayed(job, token, 0);

  if (err instanceof RateLimitedError) {
    const waitMs = rateLimitWaitMs(err.retryAfterMs, settings.ratePerMin);
    // A daily cap says nothing about the pace: only a rate 429 lowers the key's effective rate.
    const effectiveRatePerMin = await deps.limiter.pause(key.fingerprint, waitMs, err.dailyCapReached ? undefined : taken.slot);
    log.warn({ key: key.fingerprint, waitMs, effectiveRatePerMin, dailyCapReached: err.dailyCapReached }, 'rate limited by Crawlora; key paused');
    if (err.dailyCapReached) {
      await pauseRun(deps.db, run.id, 'daily-cap', `${message}; the run continues by itself in ${Math.ceil(waitMs / 60_000)} min`);
    }
    return delayed(job, token, waitMs);
  }
  if (err instanceof BadKeyError) {
    if (await deps.keys.disable(key, { status: err.status, message })) log.error({ key: key.fingerprint, status: err.status }, 'Crawlora refused this API key; it is disabled');
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
