import { overage, type UsageReport } from '../db/usage.js';
import { creditPeriods } from '../queue/credit-gate.js';

export interface UsageProjection {
  /** Credits the month ends with if spending goes on at the pace it has had so far. */
  monthCredits: number;
  overageCredits: number;
  /** null when the plan has no overage. */
  overageUsd: number | null;
}

/** A straight-line projection: crude early in the month, and labelled as such on the dashboard. */
export function projectMonth(report: UsageReport, now = new Date()): UsageProjection {
  const { monthStart, nextMonth } = creditPeriods(now);
  const elapsed = (now.getTime() - monthStart.getTime()) / (nextMonth.getTime() - monthStart.getTime());
  const monthCredits = elapsed > 0 ? Math.round(report.monthCredits / elapsed) : report.monthCredits;
  return { monthCredits, ...overage(monthCredits, report.plan) };
}
