import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { createApp } from '../src/app.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { buildCli, rssOf, sleepMs, startCliWorker } from './children.js';
import { cpuSecondsOf } from './cpu.js';
import { warmUp } from './crawl.js';
import { benchConfig, benchLogger, freshDatabase, freshPrefix, redisUsedMemory, SERVICES } from './services.js';

export interface MemoryResult {
  pages: number;
  seconds: number;
  /** CPU seconds the worker used during the crawl (not its start-up). */
  cpuSeconds: number;
  /** VmHWM of the worker process just before it was stopped. */
  peakRss: number;
  /** [seconds since start, RSS bytes, pages committed so far]. */
  samples: Array<[number, number, number]>;
  /**
   * The heap's floor (least heapUsed, i.e. after collections) in each fifth of the crawl, with
   * the pages committed by then: flat when nothing accumulates, whatever V8's sawtooth does.
   */
  heapFloor: Array<[number, number]>;
  /** Least-squares slope of that floor over the last four fifths, in bytes per 1,000 pages. */
  heapGrowthPer1000Pages: number;
  redisUsedMemory: number;
  redisPrefix: { keys: number; bytes: number };
  /** Completed jobs BullMQ still keeps (removeOnComplete bounds it). */
  completedJobsKept: number;
}

/**
 * The real CLI worker in a child process crawls up to `targetPages` pages across many hashtags,
 * or for `maxSeconds`, whichever comes first, while its RSS is sampled every second. Redis is
 * measured once the worker has stopped. The worker is the production one unless `cli` says
 * `tsx`: the compiled CLI (built first) with the V8 flags of its shebang.
 */
export async function memoryRun(options: {
  baseUrl: string;
  hashtags: string[];
  pagesPerHashtag: number;
  concurrency: number;
  maxSeconds: number;
  cli?: 'compiled' | 'tsx';
}): Promise<MemoryResult> {
  const compiled = options.cli !== 'tsx';
  if (compiled) await buildCli();
  const database = await freshDatabase();
  const prefix = freshPrefix();
  const targetPages = options.hashtags.length * options.pagesPerHashtag;
  // This process only starts the crawl and counts pages; the worker is the child.
  const app = createApp(benchConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: options.baseUrl }), benchLogger);
  const heapLog = join(tmpdir(), `ha-bench-heap-${process.pid}-${Date.now()}.jsonl`);
  const env = {
    ...process.env,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(fileURLToPath(new URL('./heap-probe.mjs', import.meta.url))).href}`.trim(),
    BENCH_HEAP_LOG: heapLog,
    CRAWLORA_API_KEY: 'bench-key',
    CRAWLORA_PLAN: 'enterprise',
    CRAWLORA_RATE_PER_MIN: '100000000',
    CRAWLORA_BASE_URL: options.baseUrl,
    DATABASE_URL: database.url,
    REDIS_URL: SERVICES.redisUrl,
    HA_QUEUE_PREFIX: prefix.prefix,
    HA_CONCURRENCY: String(options.concurrency),
    LOG_LEVEL: 'warn',
  };
  const worker = startCliWorker(env, { compiled });
  try {
    await warmUp(app);
    const pagesSoFar = async () =>
      Number(
        (await app.database.db.execute<{ pages: number }>(sql`select coalesce(sum(pages), 0)::int as pages from crawl_runs`)).rows[0]?.pages ?? 0,
      );
    const cpuBefore = cpuSecondsOf(worker.pid);
    const started = performance.now();
    await startCrawl(app.database.db, app.queue, { hashtagIds: options.hashtags, maxPages: null, maxItems: null });
    const samples: MemoryResult['samples'] = [];
    let peakRss = 0;
    let pages = 0;
    for (;;) {
      await sleepMs(1_000);
      const rss = rssOf(worker.pid);
      if (!rss) throw new Error(`the worker process died during the memory bench:\n${worker.stderrTail()}`);
      pages = await pagesSoFar();
      const elapsed = (performance.now() - started) / 1000;
      samples.push([elapsed, rss.rss, pages]);
      peakRss = rss.peak;
      if (pages >= targetPages || elapsed >= options.maxSeconds) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpuSecondsOf(worker.pid) - cpuBefore;
    await worker.stop();
    pages = await pagesSoFar();
    const counts = await app.queue.getJobCounts('completed');
    const heapFloor = floors(readHeapLog(heapLog), samples);
    return {
      pages,
      seconds,
      cpuSeconds,
      peakRss,
      samples,
      heapFloor,
      heapGrowthPer1000Pages: slope(heapFloor.slice(1)) * 1000,
      redisUsedMemory: await redisUsedMemory(),
      redisPrefix: await prefix.usage(),
      completedJobsKept: counts.completed ?? 0,
    };
  } finally {
    await worker.stop();
    if (process.env.BENCH_KEEP_HEAP_LOG === undefined) rmSync(heapLog, { force: true });
    await app.close();
    await prefix.clear();
    await database.drop();
  }
}

interface HeapSample {
  t: number;
  heapUsed: number;
}

function readHeapLog(path: string): HeapSample[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as HeapSample);
  } catch {
    return [];
  }
}

/** Least heapUsed in each fifth of the run, against the pages committed at the end of that fifth. */
function floors(heap: HeapSample[], samples: Array<[number, number, number]>): Array<[number, number]> {
  const end = heap.at(-1)?.t ?? 0;
  const pagesAt = (t: number) => samples.filter(([at]) => at <= t).at(-1)?.[2] ?? 0;
  return [1, 2, 3, 4, 5].map((fifth) => {
    const from = ((fifth - 1) * end) / 5;
    const to = (fifth * end) / 5;
    const inFifth = heap.filter((sample) => sample.t >= from && sample.t <= to);
    return [pagesAt(to), Math.min(...inFifth.map((sample) => sample.heapUsed))];
  });
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((sum, [x]) => sum + x, 0) / n;
  const my = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
