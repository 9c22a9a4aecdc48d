import { requestIntervalMs } from '../crawlora/plans.js';

export interface BackoffPolicy {
  ratePerMin: number;
  capMs: number;
}

/**
 * Below this a retry would land inside the same outage: a restarting Postgres or Redis takes
 * a second or two, and eight attempts from this base span about half a minute.
 */
export const MIN_BACKOFF_BASE_MS = 250;

/**
 * Exponential backoff with full jitter (spreads retries of many workers apart), never faster
 * than the key's own pace and never longer than the cap. `attempt` counts from 1.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const baseMs = Math.max(MIN_BACKOFF_BASE_MS, requestIntervalMs(policy.ratePerMin));
  const ceilingMs = Math.min(policy.capMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.min(policy.capMs, Math.max(baseMs, Math.floor(random() * ceilingMs)));
}

/** After a 429: what upstream asked for, or else one request interval of the plan. */
export function rateLimitWaitMs(retryAfterMs: number | null, ratePerMin: number): number {
  return retryAfterMs !== null && retryAfterMs > 0 ? retryAfterMs : requestIntervalMs(ratePerMin);
}
