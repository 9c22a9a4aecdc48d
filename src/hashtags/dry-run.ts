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
  });
}
