import type { RedisConnection } from './connection.js';
import type { Charge } from '../db/ledger.js';
import { defineScript } from './redis-script.js';
import { liveWorkersKey, WORKER_SILENT_MS } from './worker-liveness.js';

/** A charge as it waits in Redis until the ledger has it. */
export type PendingCharge = Charge & { chargeId: string; chargedAt: Date };

/**
 * A charge noted in Redis: first before its request leaves (`inFlight`: upstream may bill it from
 * then on, whatever happens to the worker), then again once its answer is in.
 */
export type NotedCharge = PendingCharge & {
  /** The worker process that sent the request (worker-liveness.ts). */
  owner: string;
  inFlight: boolean;
};

/** A billed page answer whose commit did not land yet, with what its commit needs to record it. */
export interface HeldAnswer {
  chargeId: string;
  keyFingerprint: string;
  chargedAtMs: number;
  /** The cursor it answers: a job asking for another cursor does not take it. */
  cursor: string;
  bytes: Buffer;
}

/** Charges waiting in Redis, with what tells whether their owners are alive. */
export interface PendingSnapshot {
  charges: NotedCharge[];
  /** Each live-looking worker's last beat, on Redis's clock. */
  beats: Map<string, number>;
  /** Redis's clock when read. */
  redisNowMs: number;
}

/**
 * What was paid for (or may have been) and is not in Postgres yet, kept in Redis, which still
 * answers while Postgres does not. A page's request is claimed before it leaves: the claim notes
 * the charge as in flight and locks the (run, cursor), so a duplicate job of the page (pause →
 * resume, a stalled job) waits instead of buying it again. The charge is noted again as billed
 * when the answer arrives, and removed, with the claim, once the ledger has it. A page's answer is
 * held only once its commit failed, and removed once the page is in. All of it survives the
 * worker that wrote it, so whoever comes next records the charge and commits the answer instead
 * of buying the page again.
 *
 * Size: a held answer is at most one body (CRAWLORA_MAX_BODY_BYTES); a run's chain stops at a page
 * whose commit does not land, so at most about two answers a live run are held, each for
 * HELD_ANSWER_TTL_MS at most. Noted charges and claims: one per page in flight.
 */
export interface PaidAnswers {
  /**
   * Claims the page's fetch and notes its charge as in flight, in one step; false while another
   * live worker's request (or commit) of the same page holds it. A dead worker's claim is taken over.
   */
  claimFetch(charge: NotedCharge, cursor: string): Promise<boolean>;
  /** The claimed request was not billed (or never left): its noted charge and claim are dropped. */
  dropClaim(chargeId: string, runId: number, cursor: string): Promise<void>;
  noteCharge(charge: NotedCharge): Promise<void>;
  /** The ledger has these charges now. */
  settleCharges(chargeIds: string[]): Promise<void>;
  /** Every charge still waiting for the ledger. */
  pendingCharges(): Promise<PendingSnapshot>;
  hold(runId: number, pageNumber: number, answer: HeldAnswer): Promise<void>;
  find(runId: number, pageNumber: number): Promise<HeldAnswer | null>;
  /** The page is in (or its charge recorded): its held answer (if any), its charge and its claim are done with. */
  release(runId: number, pageNumber: number, cursor: string, chargeId: string): Promise<void>;
  /**
   * Writes this process's claims, their noted charges and the answers it held again where Redis
   * lost them (a flush): until then a job re-added for one of its pages in flight would find the
   * page free and buy it again, and a flush during a Postgres outage would lose answers paid for.
   */
  rewriteAfterLoss(): Promise<{ claims: number; answers: number }>;
}

/** Long enough for any outage that is waited out; a run paused longer re-buys its one page. */
const HELD_ANSWER_TTL_MS = 7 * 86_400_000;
/**
 * What a process keeps of the answers it held, to write them again after Redis lost its data:
 * beyond this, the oldest copies are dropped and Redis alone keeps them. A run holds about two
 * answers at most (see PaidAnswers), so this covers ~60 runs of 0.5 MB pages stuck on an outage.
 */
const HELD_COPIES_MAX_BYTES = 64 * 1024 * 1024;

/**
 * KEYS: claim, noted charges, live workers. ARGV: charge id, its JSON, claim TTL, silence that
 * means dead. A claim is free when absent, when its charge is no longer noted (recorded and
 * released, or flushed), or when its owner stopped beating.
 */
const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder then
  local noted = redis.call('HGET', KEYS[2], holder)
  if noted then
    local owner = cjson.decode(noted).owner
    local beat = owner and redis.call('ZSCORE', KEYS[3], owner)
    if beat then
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      if tonumber(beat) >= now - tonumber(ARGV[4]) then return 0 end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`;

/** KEYS: noted charges, claim, [held answer]. ARGV: charge id. A claim taken over by another charge stays. */
const RELEASE_SCRIPT = `
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
if KEYS[3] then redis.call('DEL', KEYS[3]) end
return 1
`;

export interface PaidAnswersOptions {
  /** How long a claim outlives a worker that neither answers nor dies (a request, then its commit). */
  claimTtlMs: number;
}

export function createPaidAnswers(redis: RedisConnection, keyPrefix: string, options: PaidAnswersOptions): PaidAnswers {
  // Every key carries the prefix's hash tag: on Redis Cluster the scripts find them in one slot.
  const chargesKey = `${keyPrefix}:pending-charges`;
  const workersKey = liveWorkersKey(keyPrefix);
  const answerKey = (runId: number, pageNumber: number) => `${keyPrefix}:held-answer:${runId}:${pageNumber}`;
  const claimKey = (runId: number, cursor: string) => `${keyPrefix}:fetching:${runId}:${cursor}`;
  const claim = defineScript(redis, 'haClaimFetch', 3, CLAIM_SCRIPT);
  const releaseClaim = defineScript(redis, 'haReleaseClaim', 2, RELEASE_SCRIPT);
  const releaseAll = defineScript(redis, 'haReleasePage', 3, RELEASE_SCRIPT);
  // This process's claims by charge id: what reassertClaims writes again. One a page in flight; a
  // claim left behind (its job gave up on an outage, another process committed the page) is
  // dropped once its TTL has passed, as Redis drops it.
  const mine = new Map<string, { key: string; json: string; claimedAtMs: number }>();
  const forget = (chargeId: string) => mine.delete(chargeId);
  // Copies of the answers this process held, by key, oldest first (a Map keeps insertion order).
  const heldCopies = new Map<string, { stored: Buffer; heldAtMs: number }>();
  let heldBytes = 0;
  const dropCopy = (key: string) => {
    const copy = heldCopies.get(key);
    if (!copy) return;
    heldBytes -= copy.stored.length;
    heldCopies.delete(key);
  };
  return {
    async claimFetch(charge, cursor) {
      const key = claimKey(charge.runId!, cursor);
      const json = JSON.stringify(charge);
      const claimed = Number(await claim(key, chargesKey, workersKey, charge.chargeId, json, options.claimTtlMs, WORKER_SILENT_MS)) === 1;
      const nowMs = Date.now();
      for (const [chargeId, entry] of mine) if (nowMs - entry.claimedAtMs > options.claimTtlMs) mine.delete(chargeId);
      if (claimed) mine.set(charge.chargeId, { key, json, claimedAtMs: nowMs });
      return claimed;
    },
    async dropClaim(chargeId, runId, cursor) {
      forget(chargeId);
      await releaseClaim(chargesKey, claimKey(runId, cursor), chargeId);
    },
    async noteCharge(charge) {
      const json = JSON.stringify(charge);
      const claimed = mine.get(charge.chargeId);
      if (claimed) claimed.json = json;
      await redis.hset(chargesKey, charge.chargeId, json);
    },
    async settleCharges(chargeIds) {
      if (chargeIds.length > 0) await redis.hdel(chargesKey, ...chargeIds);
    },
    async pendingCharges() {
      const [noted, beats, time] = (await redis.pipeline().hgetall(chargesKey).zrange(workersKey, 0, -1, 'WITHSCORES').time().exec()) ?? [];
      const charges = Object.values((noted?.[1] ?? {}) as Record<string, string>).map((json) => {
        const charge = JSON.parse(json) as NotedCharge & { chargedAt: string };
        return { ...charge, chargedAt: new Date(charge.chargedAt) };
      });
      const pairs = (beats?.[1] ?? []) as string[];
      const lastBeats = new Map<string, number>();
      for (let i = 0; i + 1 < pairs.length; i += 2) lastBeats.set(pairs[i]!, Number(pairs[i + 1]));
      const [seconds, micros] = ((time?.[1] ?? ['0', '0']) as [string, string]).map(Number) as [number, number];
      return { charges, beats: lastBeats, redisNowMs: seconds * 1000 + Math.floor(micros / 1000) };
    },
    async hold(runId, pageNumber, { bytes, ...meta }) {
      const key = answerKey(runId, pageNumber);
      const stored = Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), bytes]);
      dropCopy(key);
      heldCopies.set(key, { stored, heldAtMs: Date.now() });
      heldBytes += stored.length;
      for (const oldest of heldCopies.keys()) {
        if (heldBytes <= HELD_COPIES_MAX_BYTES) break;
        dropCopy(oldest);
      }
      await redis.set(key, stored, 'PX', HELD_ANSWER_TTL_MS);
    },
    async find(runId, pageNumber) {
      const stored = await redis.getBuffer(answerKey(runId, pageNumber));
      if (stored === null) return null;
      const newline = stored.indexOf(0x0a);
      return { ...(JSON.parse(stored.subarray(0, newline).toString('utf8')) as Omit<HeldAnswer, 'bytes'>), bytes: stored.subarray(newline + 1) };
    },
    async release(runId, pageNumber, cursor, chargeId) {
      forget(chargeId);
      dropCopy(answerKey(runId, pageNumber));
      await releaseAll(chargesKey, claimKey(runId, cursor), answerKey(runId, pageNumber), chargeId);
    },
    async rewriteAfterLoss() {
      const nowMs = Date.now();
      const batch = redis.pipeline();
      // NX all: what survived, or was taken over or held anew meanwhile, stays as it is. A copy
      // of an answer another process committed since comes back too: the job that finds it with
      // its page in records its charge (once, by id) and drops it.
      for (const [chargeId, { key, json, claimedAtMs }] of mine) {
        const leftMs = options.claimTtlMs - (nowMs - claimedAtMs);
        if (leftMs > 0) batch.set(key, chargeId, 'PX', leftMs, 'NX').hsetnx(chargesKey, chargeId, json);
      }
      for (const [key, { stored, heldAtMs }] of heldCopies) {
        const leftMs = HELD_ANSWER_TTL_MS - (nowMs - heldAtMs);
        if (leftMs > 0) batch.set(key, stored, 'PX', leftMs, 'NX');
        else dropCopy(key);
      }
      if (batch.length > 0) await batch.exec();
      return { claims: mine.size, answers: heldCopies.size };
    },
  };
}
