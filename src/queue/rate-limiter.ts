import type { RedisConnection } from './connection.js';
import { CUT_FACTOR, effectiveRatePerMin, FIRST_CUT_FACTOR, FIRST_HOLD_MS, FLOOR_SHARE, HOLD_MS, RECOVERY_PER_MIN, type RateCut } from './adaptive-rate.js';
import { paceFor } from './pacing.js';
import { defineScript } from './redis-script.js';
import { apiKeyScoped } from './redis-keys.js';

/**
 * Per-key pacing shared by every worker on every machine, on Redis's clock (machines with skewed
 * clocks still agree). The scripts run pacing.ts's GCRA and adaptive-rate.ts's AIMD in integer
 * microseconds; keep the three in step. A key paused after a 429 hands out nothing until the
 * pause expires.
 *
 * Keys: `<prefix without braces>:rate:{<fingerprint>}` (see redis-keys.ts; a hash: tat, interval, cutRate, cutAt, cuts) and `…:paused`. Each
 * script's keys share the `{fingerprint}` hash tag, so on Redis Cluster they sit in one slot.
 */
const STATE_TTL_MS = 3_600_000;

/** Redis's clock in µs, and the key's effective rate (ARGV[1] is the plan's). */
const EFFECTIVE_RATE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local plan = tonumber(ARGV[1])
local cut = redis.call('HMGET', KEYS[1], 'cutRate', 'cutAt', 'cuts')
local rate = plan
local streak = tonumber(cut[3] or '1')
if cut[1] then
  local hold = math.min(${HOLD_MS * 1000}, ${FIRST_HOLD_MS * 1000} * 2 ^ (streak - 1))
  rate = math.min(plan, tonumber(cut[1]) + plan * ${RECOVERY_PER_MIN} * math.max(0, now - tonumber(cut[2]) - hold) / 60000000)
end
`;

/**
 * Reserves the key's next slot when it is at most ARGV[5] ms ahead. ARGV[2..4]: the plan's pace
 * (pacing.ts's paceFor) in µs: interval, tolerance, grace. Replies
 * {1, delay µs, grace µs, tat before, interval before, tat after, send time µs} or {0, wait µs}.
 */
const ACQUIRE_SCRIPT = `
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return {0, string.format('%d', paused * 1000)} end
${EFFECTIVE_RATE_LUA}
local horizon = tonumber(ARGV[5]) * 1000
-- A rate under the plan's stretches the plan's interval in proportion (pacing.ts's paceFor).
local interval = math.ceil(tonumber(ARGV[2]) * plan / rate)
local tolerance = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tat', 'interval')
local tat = tonumber(state[1] or '0')
-- A faster rate (a plan change, a rate recovering after a cut) applies to the slot already
-- scheduled, as if the last request had left at the new rate.
if state[2] and interval < tonumber(state[2]) then tat = tat - tonumber(state[2]) + interval end
local theoretical = math.max(tat, now)
local at = math.max(now, theoretical - tolerance)
if at - now > horizon then return {0, string.format('%d', at - now - horizon)} end
local after = theoretical + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%d', after), 'interval', string.format('%d', interval))
redis.call('PEXPIRE', KEYS[1], ${STATE_TTL_MS})
return {1, string.format('%d', at - now), ARGV[4], state[1] or '0', state[2] or '0', string.format('%d', after), string.format('%d', at)}
`;

/** pacing.ts's undoSlot: back to the schedule before the slot (ARGV: tat, interval, tat after), if nobody took one since. */
const GIVE_BACK_SCRIPT = `
if redis.call('HGET', KEYS[1], 'tat') ~= ARGV[3] then return 0 end
if ARGV[1] == '0' then redis.call('HDEL', KEYS[1], 'tat', 'interval') else redis.call('HSET', KEYS[1], 'tat', ARGV[1], 'interval', ARGV[2]) end
return 1
`;

/**
 * After a 429, atomically: lengthen the pause (never shorten another worker's), and cut the rate
 * when the refused request left after the last cut (adaptive-rate.ts's cutAfter429). ARGV: plan
 * rate, pause ms, send time µs (0: unknown, the rate is not cut). Replies the effective rate.
 */
const RATE_LIMITED_SCRIPT = `
local waitMs = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[2]) < waitMs then redis.call('SET', KEYS[2], '1', 'PX', waitMs) end
${EFFECTIVE_RATE_LUA}
local sent = tonumber(ARGV[3])
if sent == 0 or (cut[2] and sent <= tonumber(cut[2])) then return string.format('%.3f', rate) end
if not (cut[1] and rate < plan) then streak = 0 end
local factor = ${CUT_FACTOR}
if streak == 0 then factor = ${FIRST_CUT_FACTOR} end
local lowered = math.max(plan * ${FLOOR_SHARE}, rate * factor)
redis.call('HSET', KEYS[1], 'cutRate', string.format('%.6f', lowered), 'cutAt', string.format('%d', now), 'cuts', string.format('%d', streak + 1))
redis.call('PEXPIRE', KEYS[1], ${STATE_TTL_MS})
return string.format('%.3f', lowered)
`;

export interface RateLimit {
  /** The plan's (or the configured) requests per minute. */
  ratePerMin: number;
  /** The upstream's counting window; only the margin kept depends on it. */
  windowMs: number;
}

/**
 * One try at the limiter: a reserved slot (leave after `delayMs`, at most `graceMs` later; `slot`
 * gives it back), or how long until one can be reserved.
 */
export type Admission = { admitted: true; slot: string; delayMs: number; graceMs: number } | { admitted: false; waitMs: number };

export interface RateLimiter {
  tryAcquire(keyFingerprint: string): Promise<Admission>;
  /** Undoes a slot whose request was never sent, when no later slot was handed out. */
  giveBack(keyFingerprint: string, slot: string): Promise<void>;
  /**
   * After a 429: no worker sends with this key for `waitMs`, and the key's effective rate is cut
   * if the refused request (its `slot`) left at the rate in force. Returns the effective rate.
   */
  pause(keyFingerprint: string, waitMs: number, slot?: string): Promise<number>;
  /** The rate the key is paced at now, per minute (the plan's unless 429s lowered it). */
  effectiveRate(keyFingerprint: string): Promise<number>;
}

/** How far ahead a slot may be reserved: a job waiting longer releases the worker instead. */
export const RESERVE_HORIZON_MS = 2_000;

export function rateKeys(keyPrefix: string, fingerprint: string): { state: string; pause: string } {
  const state = apiKeyScoped(keyPrefix, fingerprint, 'rate');
  return { state, pause: `${state}:paused` };
}

/**
 * A key's effective rate per minute, on Redis's clock: for commands and pages that show it beside
 * the plan's (`usage`, the dashboard, /metrics, `keys`). Needs no limiter, only the connection.
 */
export async function readEffectiveRate(redis: RedisConnection, keyPrefix: string, fingerprint: string, planRatePerMin: number): Promise<number> {
  const replies = await redis.multi().time().hmget(rateKeys(keyPrefix, fingerprint).state, 'cutRate', 'cutAt', 'cuts').exec();
  const [time, cut] = (replies ?? []).map(([err, value]) => {
    if (err) throw new Error(`reading the effective rate of ${fingerprint} failed: ${err.message}`, { cause: err });
    return value as Array<string | null>;
  });
  const nowMs = Number(time![0]) * 1000 + Number(time![1]) / 1000;
  const last: RateCut | null = cut![0] == null ? null : { ratePerMin: Number(cut![0]), atMs: Number(cut![1]) / 1000, streak: Number(cut![2] ?? 1) };
  return effectiveRatePerMin(planRatePerMin, last, nowMs);
}

export function createRateLimiter(redis: RedisConnection, keyPrefix: string, limit: () => RateLimit): RateLimiter {
  const acquire = defineScript(redis, 'haPaceAcquire', 2, ACQUIRE_SCRIPT);
  const giveBack = defineScript(redis, 'haPaceGiveBack', 1, GIVE_BACK_SCRIPT);
  const rateLimited = defineScript(redis, 'haPaceRateLimited', 2, RATE_LIMITED_SCRIPT);
  return {
    async tryAcquire(fingerprint) {
      const { ratePerMin, windowMs } = limit();
      const pace = paceFor({ planRatePerMin: ratePerMin, ratePerMin, windowMs });
      const keys = rateKeys(keyPrefix, fingerprint);
      const reply = (await acquire(keys.state, keys.pause, ratePerMin, ...[pace.intervalMs, pace.toleranceMs, pace.graceMs].map((ms) => Math.round(ms * 1000)), RESERVE_HORIZON_MS)) as string[] | number[];
      if (Number(reply[0]) !== 1) return { admitted: false, waitMs: Number(reply[1]) / 1000 };
      return { admitted: true, delayMs: Number(reply[1]) / 1000, graceMs: Number(reply[2]) / 1000, slot: reply.slice(3).join(':') };
    },
    async giveBack(fingerprint, slot) {
      const [tatBefore, intervalBefore, tatAfter] = slot.split(':');
      await giveBack(rateKeys(keyPrefix, fingerprint).state, tatBefore!, intervalBefore!, tatAfter!);
    },
    async pause(fingerprint, waitMs, slot) {
      const keys = rateKeys(keyPrefix, fingerprint);
      const sentAtUs = slot?.split(':')[3] ?? '0';
      return Number(await rateLimited(keys.state, keys.pause, limit().ratePerMin, Math.max(1, Math.ceil(waitMs)), sentAtUs));
    },
    effectiveRate: (fingerprint) => readEffectiveRate(redis, keyPrefix, fingerprint, limit().ratePerMin),
  };
}
