import { and, eq, gte, sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { creditLedger, crawlRuns } from './schema.js';

export type LedgerEndpoint = (typeof creditLedger.$inferInsert)['endpoint'];

export interface Charge {
  keyFingerprint: string;
  endpoint: LedgerEndpoint;
  hashtagId: string | null;
  runId: number | null;
  credits: number;
  /** Given when the answer arrived, so a charge written twice (a flush and a commit) is recorded once. */
  chargeId?: string;
  /** A request that timed out: Crawlora may have billed it. */
  uncertain?: boolean;
  /** When the answer arrived; now by default. */
  chargedAt?: Date;
}

type Executor = Pick<Db, 'execute'>;

/**
 * Records a charge and adds it to its run's credits, in one statement; inside the caller's
 * transaction when given one. A charge whose id is already in the ledger is not counted again;
 * a certain record of it makes an uncertain one certain (a request in flight recorded as possibly
 * billed when its worker was taken for dead, whose answer was committed after all).
 */
export async function recordCharge(db: Executor, charge: Charge): Promise<void> {
  await db.execute(sql`WITH charge AS (
      INSERT INTO ${creditLedger} AS l (charge_id, key_fingerprint, endpoint, hashtag_id, run_id, credits, uncertain, charged_at)
      VALUES (${charge.chargeId ?? null}, ${charge.keyFingerprint}, ${charge.endpoint}, ${charge.hashtagId}, ${charge.runId}::int,
        ${charge.credits}, ${charge.uncertain ?? false}, coalesce(${charge.chargedAt?.toISOString() ?? null}::timestamptz, now()))
      ON CONFLICT (charge_id) DO UPDATE SET uncertain = false WHERE l.uncertain AND NOT excluded.uncertain
      RETURNING run_id, credits, xmax = 0 AS inserted
    )
    UPDATE ${crawlRuns} r SET credits = r.credits + charge.credits FROM charge WHERE r.id = charge.run_id AND charge.inserted`);
}

/** Credits a key was billed (or possibly billed) since a moment (the start of the UTC day or month). */
export async function creditsSince(db: Db, keyFingerprint: string | null, since: Date): Promise<number> {
  const [row] = await db
    .select({ credits: sql<number>`coalesce(sum(${creditLedger.credits}), 0)::int` })
    .from(creditLedger)
    .where(and(keyFingerprint === null ? undefined : eq(creditLedger.keyFingerprint, keyFingerprint), gte(creditLedger.chargedAt, since)));
  return row?.credits ?? 0;
}
