/**
 * A key's effective rate: the plan's, until a 429 shows upstream counts it lower (a key shared
 * with someone else, a custom contract, a stricter counter). Then AIMD, as TCP does: cut the
 * rate by a factor at once, hold it a while, then let it creep back linearly towards the plan's, so a wrong setting
 * costs a handful of 429s instead of one every interval. Redis holds the last cut per key, so
 * every worker paces at the same effective rate; rate-limiter.ts runs the same arithmetic.
 *
 * The first 429 in a while is as likely a request that met upstream late (a stalled machine) as
 * a wrong rate, so it costs a tenth for half a minute; each further one while the rate is still
 * under the plan's says the rate really is wrong, and cuts deeper and holds longer.
 */

/** The rate set by the last cut and when (Redis's clock). */
export interface RateCut {
  ratePerMin: number;
  atMs: number;
  /** Cuts since the rate was last back at the plan's, this one included. */
  streak: number;
}

/** The first cut of a streak leaves this share of the rate. */
export const FIRST_CUT_FACTOR = 0.9;
/** Each further cut of a streak leaves this share. */
export const CUT_FACTOR = 0.8;
/** The rate climbs back by this share of the plan's rate each minute, once the hold is over. */
export const RECOVERY_PER_MIN = 0.05;
/** How long the first cut of a streak holds; each further one holds twice as long as the one before. */
export const FIRST_HOLD_MS = 30_000;
/**
 * The longest a cut rate holds before it climbs. Without a hold, a rate just cut under upstream's
 * real limit climbs past it again within seconds (a 429 every few dozen requests, for ever); with
 * it, a limit we cannot know costs one probing 429 every few minutes at most.
 */
export const HOLD_MS = 5 * 60_000;
/** Never paced slower than this share of the plan's rate. */
export const FLOOR_SHARE = 0.05;

export function holdMs(streak: number): number {
  return Math.min(HOLD_MS, FIRST_HOLD_MS * 2 ** (streak - 1));
}

export function effectiveRatePerMin(planRatePerMin: number, cut: RateCut | null, nowMs: number): number {
  if (!cut) return planRatePerMin;
  const recovered = cut.ratePerMin + (planRatePerMin * RECOVERY_PER_MIN * Math.max(0, nowMs - cut.atMs - holdMs(cut.streak))) / 60_000;
  return Math.min(planRatePerMin, recovered);
}

/**
 * The cut after a 429 to a request that left at `sentAtMs`. Only a request sent after the last
 * cut counts: those already in flight when the rate was cut say nothing about the new rate, and
 * counting them would cut once per request in flight.
 */
export function cutAfter429(planRatePerMin: number, cut: RateCut | null, nowMs: number, sentAtMs: number): RateCut | null {
  if (cut && sentAtMs <= cut.atMs) return null;
  const current = effectiveRatePerMin(planRatePerMin, cut, nowMs);
  const streak = cut && current < planRatePerMin ? cut.streak + 1 : 1;
  const factor = streak === 1 ? FIRST_CUT_FACTOR : CUT_FACTOR;
  return { ratePerMin: Math.max(planRatePerMin * FLOOR_SHARE, current * factor), atMs: nowMs, streak };
}
