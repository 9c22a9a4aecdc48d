import { lookupDue } from '../coverage/lookup.js';
import { keyFingerprint } from '../crawlora/api-key.js';
import { hashtagRefLabel } from '../crawlora/hashtag-ref.js';
import type { Db } from '../db/client.js';
import { getUsage } from '../db/usage.js';
import type { PlanSettings } from '../queue/live-settings.js';
import { estimateCost, type CostEstimate, type EstimateLimits } from './cost-estimate.js';
import type { ResolvedRef } from './resolver.js';

/**
 * `crawl --dry-run`: what archiving these hashtags would cost against what is left today and this
 * month, at the plan in force now (`plan set` may have changed it since start-up). Reads the ledger
 * after the names were resolved, so their credits are counted as spent.
 */
export async function crawlCostEstimate(
  db: Db,
  settings: PlanSettings,
  apiKeys: string[],
  hashtags: ResolvedRef[],
  limits: EstimateLimits,
  series: { passes: number; coverageLookups: boolean } = { passes: 1, coverageLookups: false },
  now = new Date(),
): Promise<CostEstimate> {
  const usage = await getUsage(db, settings.plan, settings.dailyCredits, now);
  const spentToday = new Map(usage.keys.map((key) => [key.keyFingerprint, key.todayCredits]));
  return estimateCost({
    hashtags: hashtags.map((hashtag) => ({ label: hashtagRefLabel(hashtag.ref), id: hashtag.id, videoCount: hashtag.hashtag?.videoCount ?? null })),
    limits,
    plan: settings.plan,
    ratePerMin: settings.ratePerMin,
    dailyCredits: settings.dailyCredits,
    keysSpentToday: apiKeys.map((key) => spentToday.get(keyFingerprint(key)) ?? 0),
    monthCredits: usage.monthCredits,
    monthResetsAt: usage.monthResetsAt,
    namesResolved: hashtags.filter((hashtag) => hashtag.resolvedNow).length,
    passes: series.passes,
    // As the page job decides it (see coverage/lookup.ts): a count never looked up, or not today.
    coverageLookups: series.coverageLookups ? hashtags.filter((hashtag) => hashtag.hashtag === null || lookupDue(hashtag.hashtag.resolvedAt, now)).length : 0,
  });
}
