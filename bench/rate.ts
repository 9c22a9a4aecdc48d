/**
 * `npm run bench:rate`: does the shared rate limiter use a plan's allowance without going over?
 *
 * A scaled-down plan (BENCH_RATE_PER_MIN requests per BENCH_WINDOW_MS sliding window, the
 * simulator and the crawler on the same window), many hashtags at once, two real worker
 * processes (`bin/hashtag-archiver.js worker`) sharing the limiter in Redis. From the
 * simulator's own log of when it admitted each request:
 *
 * - achieved rate / limit over the steady-state windows (the first window, the warm-up, is left out);
 * - the 429s the simulator answered because of its sliding window (stats().rateLimited).
 *
 * Target: ratio ≥ 0.97 and zero 429s.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { createApp } from '../src/app.js';
import { paddedWindowMs } from '../src/queue/pacing.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { killChildren, sleepMs, startCliWorker, startSimChild, type WorkerChild } from './children.js';
import { warmUp } from './crawl.js';
import { hashtagIds } from './raw-postgres.js';
import { benchConfig, benchLogger, cleanupAll, cleanupOnSignals, freshDatabase, freshPrefix, SERVICES } from './services.js';
import type { RequestRecord } from './sim-child.js';

const env = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));

const LIMIT = env('BENCH_RATE_PER_MIN', 120);
const WINDOW_MS = env('BENCH_WINDOW_MS', 5_000);
/** Steady-state windows measured after the warm-up window. */
const WINDOWS = env('BENCH_WINDOWS', 20);
/** Diagnostic only: a crawler window wider than upstream's, to try a larger padding without editing the limiter. */
const CRAWLER_WINDOW_MS = env('BENCH_CRAWLER_WINDOW_MS', WINDOW_MS);
const WORKERS = env('BENCH_WORKERS', 2);
const CONCURRENCY = env('BENCH_RATE_CONCURRENCY', 8);
/** Upstream's answer time: with it, WORKERS × CONCURRENCY pages in flight could go several times the limit. */
const LATENCY_MS = env('BENCH_RATE_LATENCY_MS', 50);
const HASHTAGS = env('BENCH_RATE_HASHTAGS', 300);
/**
 * Items per page. The limiter counts requests, not bytes; small pages keep the 2 shared cores
 * from becoming the bottleneck, so the crawl can offer more than the limit and the limiter binds.
 */
const PAGE_ITEMS = env('BENCH_RATE_PAGE_ITEMS', 5);

const API_KEY = 'bench-rate-key';

const log = (line: string) => process.stderr.write(`bench:rate: ${line}\n`);

export interface RateReport {
  admitted: number;
  steadyAdmitted: number;
  ratio: number;
  /** WINDOW_MS / mean time between request i and request i + LIMIT, over the steady state. */
  turnoverRatio: number;
  perWindow: number[];
  maxInSlidingWindow: number;
  rateLimited: number;
  otherStatuses: Record<string, number>;
}

/** Pure, from the simulator's log: what the limiter achieved. */
export function analyse(records: RequestRecord[], rateLimited: number, limit: number, windowMs: number, windows: number): RateReport {
  const admitted = records
    .filter((r) => r.status >= 200 && r.status < 300)
    .map((r) => r.atMs)
    .sort((a, b) => a - b);
  const t0 = admitted[0] ?? 0;
  const perWindow = Array.from({ length: windows }, (_, k) => {
    const from = t0 + (k + 1) * windowMs;
    const to = from + windowMs;
    return admitted.filter((at) => at >= from && at < to).length;
  });
  const steadyAdmitted = perWindow.reduce((sum, n) => sum + n, 0);
  // Window turnover: in a saturated sliding window, request i + limit waits for request i to leave.
  const gaps: number[] = [];
  for (let i = 0; i + limit < admitted.length; i++) {
    if (admitted[i]! >= t0 + windowMs && admitted[i + limit]! < t0 + (windows + 1) * windowMs) gaps.push(admitted[i + limit]! - admitted[i]!);
  }
  const meanGap = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length;
  // Whole milliseconds, as the simulator's clock (Date.now()) sees them.
  const admittedMs = admitted.map(Math.floor);
  let maxInSlidingWindow = 0;
  for (let i = 0, j = 0; j < admittedMs.length; j++) {
    while (admittedMs[j]! - admittedMs[i]! >= windowMs) i++;
    maxInSlidingWindow = Math.max(maxInSlidingWindow, j - i + 1);
  }
  const otherStatuses: Record<string, number> = {};
  for (const r of records) if (r.status < 200 || r.status >= 300) otherStatuses[r.status] = (otherStatuses[r.status] ?? 0) + 1;
  return {
    admitted: admitted.length,
    steadyAdmitted,
    ratio: steadyAdmitted / (windows * limit),
    turnoverRatio: windowMs / meanGap,
    perWindow,
    maxInSlidingWindow,
    rateLimited,
    otherStatuses,
  };
}

async function main(): Promise<void> {
  cleanupOnSignals(killChildren);
  const pagesPerHashtag = Math.ceil(((WINDOWS + 3) * LIMIT * 1.5) / HASHTAGS);
  const sim = await startSimChild({
    latencyMs: LATENCY_MS,
    windowMs: WINDOW_MS,
    limits: { ratePerMin: LIMIT, dailyCredits: null },
    pageSize: PAGE_ITEMS,
    itemsPerHashtag: pagesPerHashtag * PAGE_ITEMS,
  });
  const database = await freshDatabase();
  const prefix = freshPrefix('rate');
  const app = createApp(benchConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: sim.baseUrl }), benchLogger);
  const workers: WorkerChild[] = [];
  try {
    await warmUp(app);
    for (let i = 0; i < WORKERS; i++) {
      workers.push(
        startCliWorker({
          ...process.env,
          CRAWLORA_API_KEY: API_KEY,
          CRAWLORA_PLAN: 'enterprise',
          // Per minute, whatever the window.
          CRAWLORA_RATE_PER_MIN: String((LIMIT * 60_000) / WINDOW_MS),
          CRAWLORA_RATE_WINDOW_MS: String(CRAWLER_WINDOW_MS),
          CRAWLORA_BASE_URL: sim.baseUrl,
          DATABASE_URL: database.url,
          REDIS_URL: SERVICES.redisUrl,
          HA_QUEUE_PREFIX: prefix.prefix,
          HA_CONCURRENCY: String(CONCURRENCY),
          // Requests and credits are counted against pages alone: no hashtag count lookups.
          HA_COVERAGE: 'off',
          LOG_LEVEL: 'warn',
        }),
      );
    }
    // Both workers up and polling before the crawl starts, so neither starts late.
    await sleepMs(3_000);
    log(`${WORKERS} workers × concurrency ${CONCURRENCY}, ${HASHTAGS} hashtags × ${pagesPerHashtag} pages, limit ${LIMIT} per ${WINDOW_MS} ms, latency ${LATENCY_MS} ms`);
    await startCrawl(app.database.db, app.queue, { hashtagIds: hashtagIds(HASHTAGS, 60_000_000), maxPages: null, maxItems: null });
    const started = Date.now();
    const until = started + (WINDOWS + 1) * WINDOW_MS + 1_000;
    while (Date.now() < until) {
      await sleepMs(Math.min(500, WINDOW_MS / 4));
      for (const worker of workers) {
        if (await Promise.race([worker.exited.then(() => true), sleepMs(0).then(() => false)])) {
          throw new Error(`a worker exited during the rate bench:\n${worker.stderrTail()}`);
        }
      }
    }
    await Promise.all(workers.map((worker) => worker.stop()));
    const summary = await sim.summary();
    if (process.env.BENCH_RATE_DUMP) writeFileSync(process.env.BENCH_RATE_DUMP, JSON.stringify(summary.records));
    const report = analyse(summary.records, summary.rateLimited, LIMIT, WINDOW_MS, WINDOWS);
    const pagesLeft = HASHTAGS * pagesPerHashtag - report.admitted;
    if (pagesLeft <= 0) log('warning: the crawl ran out of pages before the measurement ended');

    const lines = [
      `Rate limiter (${os.cpus().length} cores; ${WORKERS} worker processes × concurrency ${CONCURRENCY}; ${HASHTAGS} hashtags, pages of ${PAGE_ITEMS} items; ` +
        `plan ${LIMIT} requests per ${WINDOW_MS} ms sliding window on both sides; simulator latency ${LATENCY_MS} ms; ` +
        `${WINDOWS} steady-state windows after 1 warm-up window)`,
      '',
      '| Figure | Value | Notes |',
      '|---|---:|---|',
      `| Achieved rate / limit (steady state, window turnover) | ${report.turnoverRatio.toFixed(3)} | window ÷ mean time from admitted request i to i + ${LIMIT}, over every request admitted after the warm-up window; target ≥ 0.97; ceiling with the limiter's padding ${(WINDOW_MS / paddedWindowMs(CRAWLER_WINDOW_MS)).toFixed(3)} |`,
      `| Admitted / limit, counted per steady-state window | ${report.ratio.toFixed(3)} | ${report.steadyAdmitted} admitted in ${WINDOWS} windows of ${LIMIT} (per window ${Math.min(...report.perWindow)}–${Math.max(...report.perWindow)}); windows start at the first admission, so a bursty pattern that drifts slowly reads high |`,
      `| 429s from the simulator's sliding window | ${report.rateLimited} | target 0; other non-2xx: ${JSON.stringify(report.otherStatuses)} |`,
      `| Most requests admitted in any ${WINDOW_MS} ms | ${report.maxInSlidingWindow} | limit ${LIMIT} |`,
      `| The simulator's own event-loop delay (p99 / max) | ${summary.loopDelay.p99.toFixed(1)} / ${summary.loopDelay.max.toFixed(1)} ms | its stalls delay arrivals too |`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stdout.write(`rate ratio: ${report.turnoverRatio.toFixed(3)} (per-window count ${report.ratio.toFixed(3)}), 429s: ${report.rateLimited}\n`);
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await app.close();
    await sim.close();
    killChildren();
    await cleanupAll();
  }
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench:rate failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killChildren();
    await cleanupAll();
    process.exit(1);
  },
);
