import type { RedisConnection } from './connection.js';

/** How often the offset to Redis's clock is measured again (one TIME), and how far the local clock may jump before it is measured at once. */
const REFRESH_MS = 1_000;
const JUMP_MS = 100;

/**
 * Redis's clock, read through an offset to the local one measured with TIME, so that asking the
 * time costs no round trip. Every worker then agrees on when a UTC day or month starts, whatever
 * its own clock says. A local clock that jumps (NTP, a suspended VM) is noticed against the
 * monotonic clock and measured again before it is used.
 */
export function createRedisClock(redis: RedisConnection): () => Promise<Date> {
  let offsetMs = 0;
  let measuredLocalMs = Number.NaN;
  let measuredMonotonicMs = Number.NaN;
  let measuring: Promise<void> | undefined;
  const measure = async () => {
    const before = Date.now();
    const [seconds, micros] = await redis.time();
    const after = Date.now();
    offsetMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - (before + after) / 2;
    measuredLocalMs = after;
    measuredMonotonicMs = performance.now();
  };
  return async () => {
    const sinceMonotonicMs = performance.now() - measuredMonotonicMs;
    const jumpedMs = Math.abs(Date.now() - measuredLocalMs - sinceMonotonicMs);
    // NaN (never measured) fails both comparisons, so it is measured too.
    if (!(sinceMonotonicMs < REFRESH_MS && jumpedMs < JUMP_MS)) {
      await (measuring ??= measure().finally(() => {
        measuring = undefined;
      }));
    }
    return new Date(Date.now() + offsetMs);
  };
}
