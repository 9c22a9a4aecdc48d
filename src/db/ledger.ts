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
}

type Executor = Pick<Db, 'insert' | 'update'>;

/** Records a billed response, and adds it to its run's credits; inside the caller's transaction when given one. */
export async function recordCharge(db: Executor, charge: Charge): Promise<void> {
  await db.insert(creditLedger).values(charge);
  if (charge.runId !== null) {
    await db
      .update(crawlRuns)
      .set({ credits: sql`${crawlRuns.credits} + ${charge.credits}` })
      .where(eq(crawlRuns.id, charge.runId));
  }
}

/** Credits a key was billed since a moment (the start of the UTC day or month). */
export async function creditsSince(db: Db, keyFingerprint: string | null, since: Date): Promise<number> {
  const [row] = await db
    .select({ credits: sql<number>`coalesce(sum(${creditLedger.credits}), 0)::int` })
    .from(creditLedger)
    .where(and(keyFingerprint === null ? undefined : eq(creditLedger.keyFingerprint, keyFingerprint), gte(creditLedger.chargedAt, since)));
  return row?.credits ?? 0;
}
