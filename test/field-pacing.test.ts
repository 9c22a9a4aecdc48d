import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { keyFingerprint } from '../src/crawlora/api-key.js';
import { renderUsage } from '../src/cli/usage.js';
import { getUsage } from '../src/db/usage.js';
import { readKeyRates } from '../src/queue/key-rates.js';
import { readEffectiveRate } from '../src/queue/rate-limiter.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { useCrawlEnvironment, usePerTestApps } from './support/environment.js';

// Small pages: these tests are about when requests leave, not about parsing them.
const t = useCrawlEnvironment({ sim: { pageSize: 5, itemsPerHashtag: 1_000 }, app: false });
const makeApp = usePerTestApps(t, () => {
  t.sim.reset();
  t.sim.configure({ latencyMs: 0, latency: null, counting: 'sliding', windowMs: 60_000, limits: { ratePerMin: 1_000_000, dailyCredits: null } });
});

const hashtags = (count: number, from: number) => Array.from({ length: count }, (_, i) => String(from + i));
const ok = () => t.sim.stats().pageRequests.filter((request) => request.status === 200);

async function crawl(app: App, hashtagIds: string[]) {
  return startCrawl(app.database.db, app.queue, { hashtagIds, maxPages: null, maxItems: null });
}

/**
 * The share of `ratePerMin` the simulator saw filled, from its own arrival times: the requests
 * from the first arriving `warmUpMs` after the first (the workers up and sized) to the last, over
 * that span.
 */
function filledShare(arrivalsMs: number[], ratePerMin: number, warmUpMs: number): number {
  const measured = arrivalsMs.filter((atMs) => atMs >= arrivalsMs[0]! + warmUpMs);
  const spanMs = measured.at(-1)! - measured[0]!;
  return (measured.length - 1) / ((ratePerMin / 60_000) * spanMs);
}

describe('pacing at a real API latency, whatever the counting', () => {
  it('two worker processes under a token bucket: zero 429s, and the simulator sees the rate filled (≥ 0.8 even on a CPU-starved machine)', { timeout: 150_000 }, async () => {
    // 300 a minute (Pro's 120 scaled up so the test is short, and low enough that a loaded 2-core
    // machine's CPU is never what limits it: ~5 pages a second between two workers), counted by a
    // token bucket, answers drawn from a lognormal with a median of 1 s and a p99 of 4 s (nearly a
    // rendering API's: slow enough that each worker must keep ~10 pages in flight, Little's law
    // with its tail, to fill the rate).
    t.sim.configure({ counting: 'token-bucket', burst: 10, windowMs: 60_000, limits: { ratePerMin: 300, dailyCredits: null }, latency: { medianMs: 1_000, p99Ms: 4_000 } });
    const queuePrefix = `${t.prefix}-tb`;
    const env = { ...process.env, ...t.cliEnv({ HA_QUEUE_PREFIX: queuePrefix, CRAWLORA_API_KEY: 'bucket-key', CRAWLORA_PLAN: 'pro', CRAWLORA_RATE_PER_MIN: '300', LOG_LEVEL: 'warn' }) };
    const bin = fileURLToPath(new URL('../bin/hashtag-archiver.js', import.meta.url));
    const workers: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, [bin, 'worker'], { env, stdio: 'ignore' }));
    const producer = makeApp({ queuePrefix });
    try {
      await crawl(producer, hashtags(60, 100));
      // 220 requests at 5 a second: about 45 s.
      for (let waited = 0; ok().length < 220 && waited < 120_000; waited += 250) await sleep(250);
      const arrivalsMs = ok()
        .map((request) => request.atMs)
        .sort((a, b) => a - b);
      expect(arrivalsMs.length).toBeGreaterThanOrEqual(220);
      expect(t.sim.stats().rateLimited).toBe(0);
      // The pace is 0.99 of the rate (its padding); the rest is slots dropped by a job woken past
      // its grace (50 ms here: a stalled event loop, or a process the CPU did not run). Measured
      // 0.985 at load 9 beside the other engineers' work, 0.848 with four busy loops competing
      // at the test's niceness: bench:field states the figure on a quiet machine, this what a
      // starved CI box still holds. Two pages in flight a worker (a fixed small concurrency): 0.61.
      const share = filledShare(arrivalsMs, 300, 8_000);
      expect(share).toBeGreaterThanOrEqual(0.8);
      expect(share).toBeLessThanOrEqual(1);
    } finally {
      for (const worker of workers) worker.kill('SIGTERM');
      await Promise.all(workers.map((worker) => new Promise((resolve) => (worker.exitCode === null ? worker.once('exit', resolve) : resolve(null)))));
    }
  });

  it('keeps more pages in flight when upstream slows down, and fewer when it speeds up again', async () => {
    t.sim.configure({ latencyMs: 50 });
    const app = makeApp({ ratePerMin: 1_200, concurrency: 64 });
    app.startWorker();
    await crawl(app, hashtags(80, 300));
    await sleep(4_000);
    const fast = app.inFlightTarget();
    t.sim.configure({ latencyMs: 700 });
    await sleep(5_000);
    const slow = app.inFlightTarget();
    t.sim.configure({ latencyMs: 50 });
    await sleep(5_000);
    const fastAgain = app.inFlightTarget();
    // Little's law: 20 a second at ~0.7 s is ~14 busy, ~27 with the tail; at 50 ms, ~6.
    expect(slow).toBeGreaterThanOrEqual(fast + 10);
    expect(fastAgain).toBeLessThanOrEqual(slow - 10);
  });

  it('a simulator stricter than the configured rate gets a few 429s and then none; the key paces at its effective rate', async () => {
    // Configured 1,200 a minute; upstream allows 500, as a token bucket of burst 3.
    t.sim.configure({ counting: 'token-bucket', burst: 3, limits: { ratePerMin: 500, dailyCredits: null }, latencyMs: 20 });
    const app = makeApp({ ratePerMin: 1_200, apiKeys: ['strict-key'] });
    app.startWorker();
    await crawl(app, hashtags(40, 500));
    for (let waited = 0; ok().length < 250 && waited < 90_000; waited += 250) await sleep(250);
    const requests = t.sim.stats().pageRequests;
    const limited = requests.filter((request) => request.status === 429).length;
    expect(limited).toBeGreaterThan(0);
    expect(limited).toBeLessThanOrEqual(25);
    // The last 100 answers (the last ~12 s) had no 429 among them.
    expect(requests.slice(-100).filter((request) => request.status === 429)).toEqual([]);
    const effective = await readEffectiveRate(app.redis, app.config.queuePrefix, keyFingerprint('strict-key'), 1_200);
    // Cut to under upstream's 500 (1,200 × 0.9 × 0.8⁴ = 442), held there for minutes before it climbs.
    expect(effective).toBeLessThan(1_200 * 0.8);
    expect(effective).toBeGreaterThan(1_200 * 0.05);
    // `usage` shows it beside the plan's rate (the dashboard and /metrics read the same numbers).
    const rates = await readKeyRates(app.redis, app.config.queuePrefix, app.config.apiKeys, 1_200);
    const usage = renderUsage(await getUsage(app.database.db, 'pro', null), rates);
    expect(usage).toMatch(new RegExp(`pace +${keyFingerprint('strict-key')} +\\d+(\\.\\d)?/min of 1200 \\(lowered after 429s`));
  });
});
