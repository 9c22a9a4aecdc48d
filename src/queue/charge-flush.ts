import type { Db } from '../db/client.js';
import { recordCharge } from '../db/ledger.js';
import type { Logger } from '../logger.js';
import type { PaidAnswers } from './paid-answers.js';

/**
 * Charges still only in Redis this long after their answer arrived did not reach the ledger the
 * usual way (their commit or failure record did not land: Postgres away, a worker gone). Younger
 * ones are still being committed; writing them too would be harmless, only wasted.
 */
const PENDING_FOR_MS = 30_000;

/** Writes charges left in Redis into the ledger, once each (by charge id), and forgets them there. */
export async function flushPendingCharges(db: Db, answers: PaidAnswers, pendingForMs = PENDING_FOR_MS): Promise<number> {
  const pending = await answers.pendingCharges(pendingForMs);
  for (const charge of pending) {
    await recordCharge(db, charge);
    await answers.settleCharges([charge.chargeId]);
  }
  return pending.length;
}

/** Runs `flushPendingCharges` every `everyMs` in this process; concurrent flushes are safe (the ledger keeps one row a charge). Returns a stop function. */
export function scheduleChargeFlush(db: Db, answers: PaidAnswers, everyMs: number, logger: Logger): () => void {
  const tick = async () => {
    const flushed = await flushPendingCharges(db, answers);
    if (flushed > 0) logger.warn({ flushed }, 'charges noted in Redis reached the ledger late');
  };
  const timer = setInterval(() => void tick().catch((err: unknown) => logger.warn({ err }, 'pending charges not flushed; next interval retries')), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
