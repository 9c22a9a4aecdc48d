import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter, readEffectiveRate } from '../src/queue/rate-limiter.js';
import type { RedisConnection } from '../src/queue/connection.js';
import { freshPrefix, testRedis } from './support/services.js';

const prefix = freshPrefix();
let redis: RedisConnection;

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await prefix.clear();
  redis.disconnect();
});

const limiterAt = (suffix: string, ratePerMin = 600) => createRateLimiter(redis, `${prefix.prefix}-${suffix}`, () => ({ ratePerMin, windowMs: 60_000 }));

describe('the 429 pause', () => {
  it('two workers pausing the key at once never shorten each other: the longer pause holds', async () => {
    const limiter = limiterAt('pause');
    // Both read the pause before either sets it: sent on one connection, their replies interleave.
    await Promise.all([limiter.pause('fp-race', 10_000), limiter.pause('fp-race', 1_000)]);
    const admission = await limiter.tryAcquire('fp-race');
    expect(admission.admitted).toBe(false);
    expect(admission.admitted === false && admission.waitMs).toBeGreaterThan(5_000);
  });
});

describe('pacing in Redis', () => {
  it('hands concurrent callers distinct slots one interval apart, each to leave after its own delay', async () => {
    const limiter = limiterAt('spacing', 6_000);
    const admissions = await Promise.all(Array.from({ length: 40 }, () => limiter.tryAcquire('fp-spacing')));
    const sendTimesUs = admissions.map((admission) => (admission.admitted ? Number(admission.slot.split(':')[3]) : Number.NaN)).sort((a, b) => a - b);
    expect(sendTimesUs.every(Number.isFinite)).toBe(true);
    // 6,000 a minute with a 1 % margin: GCRA with a 10.1 ms interval and a 10 ms tolerance.
    let tatUs = sendTimesUs[0]!;
    for (const atUs of sendTimesUs) {
      expect(tatUs - atUs).toBeLessThanOrEqual(10_000);
      tatUs = Math.max(tatUs, atUs) + 10_100;
    }
    expect((sendTimesUs[39]! - sendTimesUs[0]!) / 1000).toBeGreaterThanOrEqual(39 * 10.1 - 10);
    const delays = admissions.map((admission) => (admission.admitted ? admission.delayMs : 0)).sort((a, b) => a - b);
    expect(delays[39]!).toBeGreaterThan(350);
  });

  it('undoes a slot given back when it was the last one handed out', async () => {
    const limiter = limiterAt('give-back', 1);
    const first = await limiter.tryAcquire('fp-back');
    expect(first.admitted).toBe(true);
    await limiter.giveBack('fp-back', first.admitted ? first.slot : '');
    const again = await limiter.tryAcquire('fp-back');
    expect(again).toMatchObject({ admitted: true, delayMs: 0 });
    // At one a minute, the next slot is a minute away: beyond the horizon, so a wait.
    expect((await limiter.tryAcquire('fp-back')).admitted).toBe(false);
  });

  it('a 429 to a request sent at the current rate cuts the effective rate once (a tenth, then a fifth while still cut); requests already in flight do not cut it again', async () => {
    const limiter = limiterAt('aimd', 1_000);
    const inFlight = await Promise.all([limiter.tryAcquire('fp-aimd'), limiter.tryAcquire('fp-aimd')]);
    const slots = inFlight.map((admission) => (admission.admitted ? admission.slot : ''));
    expect(await limiter.effectiveRate('fp-aimd')).toBe(1_000);
    // Both have left (the second ~51 ms after the first: an interval less the tolerance) when the first one's 429 comes back.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await limiter.pause('fp-aimd', 1, slots[0])).toBeCloseTo(900, 0);
    expect(await limiter.pause('fp-aimd', 1, slots[1])).toBeCloseTo(900, 0);
    // A daily-cap 429 carries no slot and never changes the pace.
    expect(await limiter.pause('fp-aimd', 1)).toBeCloseTo(900, 0);
    expect(await readEffectiveRate(redis, `${prefix.prefix}-aimd`, 'fp-aimd', 1_000)).toBeCloseTo(900, 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const later = await limiter.tryAcquire('fp-aimd');
    expect(await limiter.pause('fp-aimd', 1, later.admitted ? later.slot : undefined)).toBeCloseTo(720, 0);
  });
});
