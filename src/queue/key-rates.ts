import type { RedisConnection } from './connection.js';
import { keyFingerprint } from '../crawlora/api-key.js';
import { readEffectiveRate } from './rate-limiter.js';

/** A key's pace beside its plan's: lower while adaptive-rate.ts recovers from 429s. */
export interface KeyRate {
  keyFingerprint: string;
  planRatePerMin: number;
  effectiveRatePerMin: number;
}

/** Each configured key's effective rate, for `usage`, the dashboard and /metrics. */
export async function readKeyRates(redis: RedisConnection, keyPrefix: string, apiKeys: string[], planRatePerMin: number): Promise<KeyRate[]> {
  return Promise.all(
    apiKeys.map(async (apiKey) => {
      const fingerprint = keyFingerprint(apiKey);
      const effective = await readEffectiveRate(redis, keyPrefix, fingerprint, planRatePerMin);
      return { keyFingerprint: fingerprint, planRatePerMin, effectiveRatePerMin: Math.round(effective * 10) / 10 };
    }),
  );
}

/** "120/min", or "96/min of 120 (lowered after 429s)". */
export function describeKeyRate(rate: KeyRate): string {
  return rate.effectiveRatePerMin < rate.planRatePerMin
    ? `${rate.effectiveRatePerMin}/min of ${rate.planRatePerMin} (lowered after 429s, climbing back)`
    : `${rate.planRatePerMin}/min`;
}
