import { and, gte, sql } from 'drizzle-orm';
import { PLANS, type PlanName } from '../crawlora/plans.js';
import { creditPeriods } from '../queue/credit-gate.js';
import type { LiveSettings } from '../queue/live-settings.js';
import type { Db } from './client.js';
import { creditLedger } from './schema.js';

export interface KeyUsage {
  keyFingerprint: string;
  todayCredits: number;
  monthCredits: number;
  /** Of monthCredits: requests that timed out, which Crawlora may or may not have billed. */
  uncertainCredits: number;
}

export interface UsageReport {
  plan: PlanName;
  /** Per key; null when the plan has no daily cap. */
  dailyCredits: number | null;
  includedCredits: number;
  todayCredits: number;
  monthCredits: number;
  /** Of monthCredits: requests that timed out, counted as billed since Crawlora usually bills them. */
  uncertainCredits: number;
  overageCredits: number;
  /** null when the plan has no overage: it stops at its included credits instead. */
  overageUsd: number | null;
  keys: KeyUsage[];
  dayResetsAt: Date;
  monthResetsAt: Date;
}

/** What the ledger says was spent today and this month, against the plan: the numbers behind `usage` and the dashboard. */
export async function getUsage(db: Db, plan: PlanName, dailyCredits: number | null, now = new Date()): Promise<UsageReport> {
  const periods = creditPeriods(now);
  const rows = await db
    .select({
      keyFingerprint: creditLedger.keyFingerprint,
      todayCredits: sql<number>`coalesce(sum(${creditLedger.credits}) filter (where ${creditLedger.chargedAt} >= ${periods.dayStart.toISOString()}), 0)::int`,
      monthCredits: sql<number>`coalesce(sum(${creditLedger.credits}), 0)::int`,
      uncertainCredits: sql<number>`coalesce(sum(${creditLedger.credits}) filter (where ${creditLedger.uncertain}), 0)::int`,
    })
    .from(creditLedger)
    .where(and(gte(creditLedger.chargedAt, periods.monthStart)))
    .groupBy(creditLedger.keyFingerprint)
    .orderBy(creditLedger.keyFingerprint);
  const monthCredits = rows.reduce((sum, row) => sum + row.monthCredits, 0);
  return {
    plan,
    dailyCredits,
    includedCredits: PLANS[plan].includedCredits,
    todayCredits: rows.reduce((sum, row) => sum + row.todayCredits, 0),
    monthCredits,
    uncertainCredits: rows.reduce((sum, row) => sum + row.uncertainCredits, 0),
    ...overage(monthCredits, plan),
    keys: rows,
    dayResetsAt: periods.nextDay,
    monthResetsAt: periods.nextMonth,
  };
}

/**
 * Usage against the plan in force now: `plan` may have changed it since this process started. The
 * one source of `usage`, `/api/usage` and the dashboard's panel.
 */
export async function getLiveUsage(db: Db, settings: Pick<LiveSettings, 'refresh'>): Promise<UsageReport> {
  const { plan, dailyCredits } = await settings.refresh();
  return getUsage(db, plan, dailyCredits);
}

/** Credits past the plan's included ones, and their price at the plan's overage rate. */
export function overage(monthCredits: number, plan: PlanName): { overageCredits: number; overageUsd: number | null } {
  const { includedCredits, overageUsdPer1000 } = PLANS[plan];
  const overageCredits = Math.max(0, monthCredits - includedCredits);
  return { overageCredits, overageUsd: overageUsdPer1000 === null ? null : Math.round(overageCredits * overageUsdPer1000 * 100 / 1000) / 100 };
}
