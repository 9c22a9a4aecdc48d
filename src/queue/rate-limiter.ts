import type { Redis } from 'ioredis';
import { defineScript } from './redis-script.js';

/**
 * A sliding-window log per API key, held in Redis so every worker on every machine draws from
 * the same allowance. Crawlora counts requests over a sliding 60 s window; a fixed-window
 * limiter can put twice the limit into one sliding minute at a boundary, so this one keeps the
 * admission times themselves. Time comes from Redis, so machines with skewed clocks still agree.
 * A key paused after a 429 admits nothing until the pause expires.
 *
 * Returns the admission's entry in the log when the request is admitted (so it can be given
 * back), else the milliseconds to wait.
 */
const ACQUIRE_SCRIPT = `
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return paused end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  local slot = now .. '-' .. redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], now, slot)
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[2], window)
  return slot
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
`;

export interface RateLimit {
  ratePerMin: number;
  windowMs: number;
}

/**
 * How much wider than upstream's window ours is. Our admission time is taken before the request
 * travels; if a later request travels faster than an earlier one, upstream sees them closer
 * together than we did. The margin absorbs that jitter at the cost of ~1 % of throughput.
 */
export function paddedWindowMs(windowMs: number): number {
  return windowMs + Math.max(50, Math.ceil(windowMs * 0.01));
}

/** One try at the limiter: admitted (and counted, under `slot`), or the wait in ms. */
export type Admission = { admitted: true; slot: string } | { admitted: false; waitMs: number };

export interface RateLimiter {
  tryAcquire(keyFingerprint: string): Promise<Admission>;
  /** Uncounts an admission whose request was never sent, so the slot is not lost to the window. */
  giveBack(keyFingerprint: string, slot: string): Promise<void>;
  /** After a 429: no worker sends with this key for `waitMs`. */
  pause(keyFingerprint: string, waitMs: number): Promise<void>;
}

export function createRateLimiter(redis: Redis, keyPrefix: string, limit: () => RateLimit): RateLimiter {
  const keysOf = (fingerprint: string) => {
    const base = `${keyPrefix}:rate:${fingerprint}`;
    return { log: base, seq: `${base}:seq`, pause: `${base}:paused` };
  };
  const acquireScript = defineScript(redis, 'haRateAcquire', 3, ACQUIRE_SCRIPT);
  return {
    async tryAcquire(fingerprint) {
      const { ratePerMin, windowMs } = limit();
      const keys = keysOf(fingerprint);
      const reply = await acquireScript(keys.log, keys.seq, keys.pause, ratePerMin, paddedWindowMs(windowMs));
      return typeof reply === 'string' ? { admitted: true, slot: reply } : { admitted: false, waitMs: Number(reply) };
    },
    async giveBack(fingerprint, slot) {
      await redis.zrem(keysOf(fingerprint).log, slot);
    },
    async pause(fingerprint, waitMs) {
      // Only ever lengthen a pause: two workers hitting 429 must not shorten each other's wait.
      const key = keysOf(fingerprint).pause;
      const current = await redis.pttl(key);
      if (current < waitMs) await redis.set(key, '1', 'PX', Math.max(1, Math.ceil(waitMs)));
    },
  };
}
