import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createCreditGate } from '../src/queue/credit-gate.js';
import { createRedisClock } from '../src/queue/redis-clock.js';
import { freshPrefix, SERVICES } from './support/services.js';

const prefix = freshPrefix();
const redis = new Redis(SERVICES.redisUrl);
afterEach(() => {
  vi.useRealTimers();
});
afterAll(async () => {
  await prefix.clear();
  redis.disconnect();
});

describe('credit counters on Redis\u2019s clock', () => {
  it('a worker whose clock runs a day ahead still counts against today\u2019s cap', async () => {
    const gate = createCreditGate(redis, prefix.prefix, async () => 0, createRedisClock(redis));
    const caps = { dailyCredits: 16, monthlyCredits: null };
    expect((await gate.reserve('clock-key', 8, caps)).kind).toBe('reserved');
    expect((await gate.reserve('clock-key', 8, caps)).kind).toBe('reserved');
    expect(await gate.reserve('clock-key', 8, caps)).toMatchObject({ kind: 'cap-reached', cap: 'daily' });

    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 86_400_000 });
    const ahead = await gate.reserve('clock-key', 8, caps);
    expect(ahead).toMatchObject({ kind: 'cap-reached', cap: 'daily' });
    // It waits for Redis's midnight, not for the next one of its own clock.
    expect(ahead.kind === 'cap-reached' && ahead.waitMs).toBeLessThanOrEqual(86_400_000);
  });

  it('reads Redis\u2019s time without a round trip per call, and follows a local clock that jumps', async () => {
    const clock = createRedisClock(redis);
    const [seconds] = await redis.time();
    const first = await clock();
    expect(Math.abs(first.getTime() - Number(seconds) * 1000)).toBeLessThan(2_000);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 3_600_000 });
    expect(Math.abs((await clock()).getTime() - first.getTime())).toBeLessThan(2_000);
  });
});
