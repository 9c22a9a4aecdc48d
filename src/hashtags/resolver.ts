import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import { ConfigError } from '../config.js';
import type { CrawloraClient } from '../crawlora/client.js';
import type { HashtagDetail } from '../crawlora/detail.js';
import { BadKeyError, CrawloraError, RateLimitedError, TransientError } from '../crawlora/errors.js';
import type { HashtagRef } from '../crawlora/hashtag-ref.js';
import { CREDITS_PER_REQUEST, requestIntervalMs } from '../crawlora/plans.js';
import type { Db } from '../db/client.js';
import { findHashtagsById, findHashtagsByName, saveHashtag } from '../db/hashtags.js';
import { recordCharge } from '../db/ledger.js';
import type { Hashtag } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { rateLimitWaitMs } from '../queue/backoff.js';
import type { CreditCaps, CreditGate } from '../queue/credit-gate.js';
import { keyAccepted, noteKeyAccepted, untilReady, type KeyPool, type TakenKey } from '../queue/key-pool.js';
import type { RateLimiter } from '../queue/rate-limiter.js';

export interface ResolverSettings extends CreditCaps {
  ratePerMin: number;
  backoffCapMs: number;
}

/** The same keys, pacing and credit gate as the page workers: a lookup spends from the same allowance. */
export interface ResolverDeps {
  db: Db;
  client: CrawloraClient;
  keys: KeyPool;
  limiter: RateLimiter;
  credits: CreditGate;
  logger: Logger;
  settings: () => ResolverSettings;
}

export interface Resolution {
  hashtag: Hashtag;
  /** false when this call asked Crawlora (and paid for it). */
  fromCache: boolean;
}

/** A hashtag as given, with its id; `hashtag` is its cached detail when there is one (an id never resolved has none). */
export interface ResolvedRef {
  ref: HashtagRef;
  id: string;
  hashtag: Hashtag | null;
  resolvedNow: boolean;
}

export interface HashtagResolver {
  /**
   * Each name (normalized, see parseHashtagName) with its hashtag, in the order given. A cached
   * name costs nothing; others are asked once each. `refresh` asks again even when cached.
   */
  resolve(names: string[], options?: { refresh?: boolean }): Promise<Resolution[]>;
  /** Ids for hashtags given either way, resolving names not cached yet. */
  resolveRefs(refs: HashtagRef[]): Promise<ResolvedRef[]>;
}

/**
 * Retries of a lookup that hit a fault on the way (5xx, timeout) or Crawlora's rate limit.
 * A refused key does not count: the next key is tried at once.
 */
const RETRIES = 4;

export function createHashtagResolver(deps: ResolverDeps): HashtagResolver {
  const log = deps.logger;

  /** A key the limiter admits now, waiting for one as long as the plan's pace requires. */
  async function takeKey(name: string): Promise<TakenKey> {
    for (;;) {
      const choice = await deps.keys.choose();
      if (choice.kind === 'key') {
        if (await untilReady(choice)) return choice;
        await deps.keys.giveBack(choice);
        continue;
      }
      if (choice.kind === 'none-left') {
        throw new AbortError(new ConfigError(`cannot resolve hashtag '${name}': every API key was refused by Crawlora (401/403); set a valid CRAWLORA_API_KEY`));
      }
      await sleep(choice.waitMs);
    }
  }

  /** One request: paced, within the credit caps, and in the ledger when billed. */
  async function attempt(name: string): Promise<Hashtag> {
    const settings = deps.settings();
    const taken = await takeKey(name);
    const { key } = taken;
    const reservation = await deps.credits.reserve(key.fingerprint, CREDITS_PER_REQUEST, settings);
    if (reservation.kind === 'cap-reached') {
      const cap = reservation.cap === 'daily' ? `its daily cap of ${settings.dailyCredits} credits` : `the month's ${settings.monthlyCredits} included credits (the plan has no overage)`;
      const message = `key ${key.fingerprint} reached ${cap}, which resets at ${reservation.resumeAt.toISOString()}`;
      throw new AbortError(new RateLimitedError(message, reservation.waitMs, true));
    }
    const charge = { keyFingerprint: key.fingerprint, endpoint: 'hashtag-detail', runId: null, credits: CREDITS_PER_REQUEST } as const;
    let detail: HashtagDetail;
    try {
      detail = await deps.client.fetchHashtagDetail({ apiKey: key.value, name });
    } catch (err) {
      if (err instanceof CrawloraError && err.charged) await recordCharge(deps.db, { ...charge, hashtagId: null });
      else await reservation.release();
      if (err instanceof RateLimitedError) {
        await deps.limiter.pause(key.fingerprint, rateLimitWaitMs(err.retryAfterMs, settings.ratePerMin), err.dailyCapReached ? undefined : taken.slot);
      }
      if (keyAccepted(err)) await noteKeyAccepted(taken, deps.keys, log);
      if (err instanceof BadKeyError && (await deps.keys.disable(key, { status: err.status, message: err.message }))) {
        log.error({ key: key.fingerprint, status: err.status }, 'Crawlora refused this API key; it is disabled');
      }
      throw err;
    }
    await noteKeyAccepted(taken, deps.keys, log);
    const hashtag = await deps.db.transaction(async (tx) => {
      await recordCharge(tx, { ...charge, hashtagId: detail.id });
      return saveHashtag(tx, name, detail);
    });
    log.debug({ name, hashtagId: hashtag.id, key: key.fingerprint }, 'hashtag name resolved');
    return hashtag;
  }

  async function fetchHashtag(name: string): Promise<Hashtag> {
    const { ratePerMin, backoffCapMs } = deps.settings();
    let attempts = 0;
    try {
      return await pRetry(
        () => {
          attempts += 1;
          return attempt(name);
        },
        {
          retries: RETRIES,
          // Never faster than the key's own pace, as the page jobs' backoff.
          minTimeout: Math.min(requestIntervalMs(ratePerMin), backoffCapMs),
          maxTimeout: backoffCapMs,
          randomize: true,
          shouldConsumeRetry: ({ error }) => !(error instanceof BadKeyError),
          shouldRetry: ({ error }) => isWorthRetrying(error),
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft > 0 && isWorthRetrying(error)) log.warn({ err: error, name, attemptNumber }, 'hashtag lookup failed; retrying');
          },
        },
      );
    } catch (err) {
      throw givenUp(name, err, attempts);
    }
  }

  async function resolve(names: string[], options: { refresh?: boolean } = {}): Promise<Resolution[]> {
    const unique = [...new Set(names)];
    const cached = options.refresh ? new Map<string, Hashtag>() : new Map((await findHashtagsByName(deps.db, unique)).map((row) => [row.name, row]));
    const byName = new Map<string, Resolution>();
    // One at a time: the key's pace allows no more, and an error stops before spending on the rest.
    for (const name of unique) {
      const hit = cached.get(name);
      byName.set(name, hit ? { hashtag: hit, fromCache: true } : { hashtag: await fetchHashtag(name), fromCache: false });
    }
    return names.map((name) => byName.get(name)!);
  }

  return {
    resolve,
    async resolveRefs(refs) {
      const names = refs.flatMap((ref) => (ref.kind === 'name' ? [ref.name] : []));
      const byName = new Map((await resolve(names)).map((resolution) => [resolution.hashtag.name, resolution]));
      const ids = refs.flatMap((ref) => (ref.kind === 'id' ? [ref.id] : []));
      const byId = new Map((await findHashtagsById(deps.db, ids)).map((row) => [row.id, row]));
      return refs.map((ref): ResolvedRef => {
        if (ref.kind === 'id') return { ref, id: ref.id, hashtag: byId.get(ref.id) ?? null, resolvedNow: false };
        const { hashtag, fromCache } = byName.get(ref.name)!;
        return { ref, id: hashtag.id, hashtag, resolvedNow: !fromCache };
      });
    },
  };
}

/** Faults on the way and rate limits pass; a refused key is worth the next key. Everything else is a verdict. */
function isWorthRetrying(error: unknown): boolean {
  return error instanceof TransientError || error instanceof BadKeyError || (error instanceof RateLimitedError && !error.dailyCapReached);
}

/** The one line a caller sees once retrying is over, naming the hashtag. */
function givenUp(name: string, err: unknown, attempts: number): unknown {
  const about = `cannot resolve hashtag '${name}'`;
  if (err instanceof TransientError) {
    return new TransientError(`${about} after ${attempts} attempts: ${err.message}; try again later`, { cause: err, charged: err.charged });
  }
  if (err instanceof RateLimitedError) {
    const tries = err.dailyCapReached ? '' : ` after ${attempts} attempts`;
    const when = err.retryAfterMs === null ? 'later' : `in ${Math.max(1, Math.ceil(err.retryAfterMs / 60_000))} min`;
    return new RateLimitedError(`${about}${tries}: ${err.message}; try again ${when}`, err.retryAfterMs, err.dailyCapReached, { cause: err });
  }
  if (err instanceof BadKeyError) return new BadKeyError(`${about}: ${err.message}; set a valid CRAWLORA_API_KEY`, err.status, { cause: err });
  return err;
}
