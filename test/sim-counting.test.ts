import { describe, expect, it } from 'vitest';
import { lognormalSampler } from '../src/sim/latency.js';
import { FixedWindow, SlidingWindow, TokenBucket } from '../src/sim/rate-window.js';
import { startSimulator } from '../src/sim/server.js';

describe("the simulator's ways of counting a key's requests", () => {
  it('a fixed window admits the limit, refuses until its end, then admits a full limit again', () => {
    const window = new FixedWindow();
    expect([0, 100, 200].map((at) => window.admit(10_000 + at, 2, 1_000).admitted)).toEqual([true, true, false]);
    expect(window.admit(10_200, 2, 1_000)).toEqual({ admitted: false, retryAfterMs: 800 });
    // At the boundary, two more at once: a fixed window allows twice the limit across it.
    expect([10_999, 11_000, 11_001].map((at) => window.admit(at, 2, 1_000).admitted)).toEqual([false, true, true]);
  });

  it('a token bucket admits its burst at once, then one request per refill interval', () => {
    const bucket = new TokenBucket(3);
    expect([0, 0, 0, 0].map((at) => bucket.admit(at, 10, 1_000).admitted)).toEqual([true, true, true, false]);
    expect(bucket.admit(50, 10, 1_000)).toEqual({ admitted: false, retryAfterMs: 50 });
    expect(bucket.admit(100, 10, 1_000).admitted).toBe(true);
    expect(bucket.admit(150, 10, 1_000).admitted).toBe(false);
  });

  it('a sliding window of any length holds the limit in every such window', () => {
    const window = new SlidingWindow();
    expect([0, 1, 2].map((at) => window.admit(at, 2, 10_000).admitted)).toEqual([true, true, false]);
    expect(window.admit(10_000, 2, 10_000).admitted).toBe(true);
  });

  it('is chosen with the counting option and answers 429 with Retry-After', async () => {
    const sim = await startSimulator({ counting: 'token-bucket', burst: 2, windowMs: 60_000, limits: { ratePerMin: 60, dailyCredits: null } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const response = await fetch(`${sim.baseUrl}/tiktok/hashtags?id=1&cursor=0`, { headers: { 'x-api-key': 'k' } });
        statuses.push(response.status);
        if (response.status === 429) expect(response.headers.get('retry-after')).toBe('1');
        await response.arrayBuffer();
      }
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await sim.close();
    }
  });

  it('refuses a latency distribution whose p99 is below its median', async () => {
    await expect(startSimulator({ latency: { medianMs: 100, p99Ms: 50 } })).rejects.toThrow(/p99Ms must be at least/);
  });
});

describe("the simulator's latency distribution", () => {
  it('draws answer times with the given median and 99th percentile', () => {
    const draw = lognormalSampler({ medianMs: 1_500, p99Ms: 6_000 }, 7);
    const samples = Array.from({ length: 20_000 }, draw).sort((a, b) => a - b);
    expect(samples[10_000]!).toBeGreaterThan(1_400);
    expect(samples[10_000]!).toBeLessThan(1_600);
    expect(samples[19_800]!).toBeGreaterThan(5_200);
    expect(samples[19_800]!).toBeLessThan(6_900);
  });
});
