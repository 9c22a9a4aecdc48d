/**
 * Crawlora's plans, copied from the billing table of the hashtag posts endpoint.
 * This table is the single source for pacing, daily budgets and cost estimates.
 */
export const PLAN_NAMES = ['free', 'starter', 'growth', 'pro', 'business', 'enterprise'] as const;
export type PlanName = (typeof PLAN_NAMES)[number];

export interface Plan {
  name: PlanName;
  priceUsdPerMonth: number;
  includedCredits: number;
  /** null: the plan has no daily cap. */
  dailyCredits: number | null;
  ratePerMin: number;
  /** null: the plan cannot go past its included credits. */
  overageUsdPer1000: number | null;
}

export const CREDITS_PER_REQUEST = 8;
export const ITEMS_PER_PAGE = 30;

export const PLANS: Readonly<Record<PlanName, Plan>> = {
  free: { name: 'free', priceUsdPerMonth: 0, includedCredits: 2_000, dailyCredits: 500, ratePerMin: 5, overageUsdPer1000: null },
  starter: { name: 'starter', priceUsdPerMonth: 9, includedCredits: 20_000, dailyCredits: 5_000, ratePerMin: 15, overageUsdPer1000: 0.75 },
  growth: { name: 'growth', priceUsdPerMonth: 29, includedCredits: 100_000, dailyCredits: 25_000, ratePerMin: 45, overageUsdPer1000: 0.45 },
  pro: { name: 'pro', priceUsdPerMonth: 79, includedCredits: 400_000, dailyCredits: null, ratePerMin: 120, overageUsdPer1000: 0.3 },
  business: { name: 'business', priceUsdPerMonth: 199, includedCredits: 1_200_000, dailyCredits: null, ratePerMin: 300, overageUsdPer1000: 0.2 },
  enterprise: { name: 'enterprise', priceUsdPerMonth: 499, includedCredits: 5_000_000, dailyCredits: null, ratePerMin: 1_000, overageUsdPer1000: 0.12 },
};

export function isPlanName(value: string): value is PlanName {
  return (PLAN_NAMES as readonly string[]).includes(value);
}

/** Smallest spacing between two requests of one key that stays within the plan's rate. */
export function requestIntervalMs(ratePerMin: number): number {
  return Math.ceil(60_000 / ratePerMin);
}
