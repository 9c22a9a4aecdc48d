import type { RedisConnection } from './connection.js';
import type { Charge } from '../db/ledger.js';

/** A charge as it waits in Redis until the ledger has it. */
export type PendingCharge = Charge & { chargeId: string; chargedAt: Date };

/** A billed page answer whose commit did not land yet, with what its commit needs to record it. */
export interface HeldAnswer {
  chargeId: string;
  keyFingerprint: string;
  chargedAtMs: number;
  /** The cursor it answers: a job asking for another cursor does not take it. */
  cursor: string;
  bytes: Buffer;
}

/**
 * What was paid for and is not in Postgres yet, kept in Redis, which still answers while Postgres
 * does not. Charges are noted as their answers arrive and removed once the ledger has them; a
 * page's answer is held only once its commit failed, and removed once the page is in. Both survive
 * the worker that wrote them, so whoever comes next records the charge and commits the answer
 * instead of buying the page again.
 *
 * Size: a held answer is at most one body (CRAWLORA_MAX_BODY_BYTES); a run's chain stops at a page
 * whose commit does not land, so at most about two answers a live run are held, each for
 * HELD_ANSWER_TTL_MS at most.
 */
export interface PaidAnswers {
  noteCharge(charge: PendingCharge): Promise<void>;
  /** The ledger has these charges now. */
  settleCharges(chargeIds: string[]): Promise<void>;
  /** Charges still waiting for the ledger, noted more than `olderThanMs` ago. */
  pendingCharges(olderThanMs: number): Promise<PendingCharge[]>;
  hold(runId: number, pageNumber: number, answer: HeldAnswer): Promise<void>;
  find(runId: number, pageNumber: number): Promise<HeldAnswer | null>;
  /** The page is in: its held answer (if any) and its charge are done with. */
  release(runId: number, pageNumber: number, chargeId: string | null): Promise<void>;
}

/** Long enough for any outage that is waited out; a run paused longer re-buys its one page. */
const HELD_ANSWER_TTL_MS = 7 * 86_400_000;

export function createPaidAnswers(redis: RedisConnection, keyPrefix: string): PaidAnswers {
  const chargesKey = `${keyPrefix}:pending-charges`;
  const answerKey = (runId: number, pageNumber: number) => `${keyPrefix}:held-answer:${runId}:${pageNumber}`;
  return {
    async noteCharge(charge) {
      await redis.hset(chargesKey, charge.chargeId, JSON.stringify(charge));
    },
    async settleCharges(chargeIds) {
      if (chargeIds.length > 0) await redis.hdel(chargesKey, ...chargeIds);
    },
    async pendingCharges(olderThanMs) {
      const cutoffMs = Date.now() - olderThanMs;
      const all = Object.values(await redis.hgetall(chargesKey)).map((json) => {
        const charge = JSON.parse(json) as PendingCharge & { chargedAt: string };
        return { ...charge, chargedAt: new Date(charge.chargedAt) };
      });
      return all.filter((charge) => charge.chargedAt.getTime() <= cutoffMs);
    },
    async hold(runId, pageNumber, { bytes, ...meta }) {
      await redis.set(answerKey(runId, pageNumber), Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), bytes]), 'PX', HELD_ANSWER_TTL_MS);
    },
    async find(runId, pageNumber) {
      const stored = await redis.getBuffer(answerKey(runId, pageNumber));
      if (stored === null) return null;
      const newline = stored.indexOf(0x0a);
      return { ...(JSON.parse(stored.subarray(0, newline).toString('utf8')) as Omit<HeldAnswer, 'bytes'>), bytes: stored.subarray(newline + 1) };
    },
    async release(runId, pageNumber, chargeId) {
      const batch = redis.pipeline().del(answerKey(runId, pageNumber));
      if (chargeId !== null) batch.hdel(chargesKey, chargeId);
      await batch.exec();
    },
  };
}
