import type { Db } from '../db/client.js';
import { recordCharge } from '../db/ledger.js';
import type { Logger } from '../logger.js';
import type { NotedCharge, PaidAnswers, PendingCharge } from './paid-answers.js';
import { isLive } from './worker-liveness.js';

export interface FlushRules {
  /**
   * A billed charge still only in Redis this long after its answer arrived did not reach the
   * ledger the usual way (its commit or failure record did not land: Postgres away, a worker
   * gone). Younger ones are still being committed; writing them too would be harmless, only wasted.
   */
  billedForMs: number;
  /**
   * A charge noted in flight this long ago outlived any request and its commit even though its
   * worker still beats (its last word to Redis was lost): counted as possibly billed all the same.
   */
  inFlightForMs: number;
}

export const BILLED_FOR_MS = 30_000;

/**
 * The ledger row a noted charge becomes now, or null while it is still its worker's to record.
 * A request in flight whose worker died (killed mid-fetch) may have been billed: it is recorded
 * as uncertain, so the ledger never under-counts what upstream may have charged. Should the page
 * be committed after all (a live worker taken for dead), its certain charge id replaces it.
 */
export function dueForLedger(charge: NotedCharge, ownerAlive: boolean, nowMs: number, rules: FlushRules): PendingCharge | null {
  const ageMs = nowMs - charge.chargedAt.getTime();
  // Charges noted before the in-flight notes existed carry neither field: billed ones.
  if (!charge.inFlight) return ageMs >= rules.billedForMs ? ledgerRow(charge, charge.uncertain ?? false) : null;
  return !ownerAlive || ageMs >= rules.inFlightForMs ? ledgerRow(charge, true) : null;
}

function ledgerRow({ owner: _owner, inFlight: _inFlight, ...charge }: NotedCharge, uncertain: boolean): PendingCharge {
  return { ...charge, uncertain };
}

/** Writes charges left in Redis into the ledger, once each (by charge id), and forgets them there. */
export async function flushPendingCharges(db: Db, answers: PaidAnswers, rules: FlushRules): Promise<number> {
  const { charges, beats, redisNowMs } = await answers.pendingCharges();
  const nowMs = Date.now();
  let flushed = 0;
  for (const charge of charges) {
    const row = dueForLedger(charge, isLive(beats.get(charge.owner), redisNowMs), nowMs, rules);
    if (!row) continue;
    await recordCharge(db, row);
    await answers.settleCharges([row.chargeId]);
    flushed += 1;
  }
  return flushed;
}

/** Runs `flushPendingCharges` every `everyMs` in this process; concurrent flushes are safe (the ledger keeps one row a charge). Returns a stop function. */
export function scheduleChargeFlush(db: Db, answers: PaidAnswers, everyMs: number, rules: FlushRules, logger: Logger): () => void {
  const tick = async () => {
    const flushed = await flushPendingCharges(db, answers, rules);
    if (flushed > 0) logger.warn({ flushed }, 'charges noted in Redis reached the ledger late');
  };
  const timer = setInterval(() => void tick().catch((err: unknown) => logger.warn({ err }, 'pending charges not flushed; next interval retries')), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
