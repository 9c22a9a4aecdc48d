import { sql } from 'drizzle-orm';
import { createApp, type App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { cpuSecondsOf, ownCpuSeconds, postgresBackendsCpu } from './cpu.js';
import type { RequestRecord } from './sim-child.js';
import { benchConfig, benchLogger, freshDatabase, freshPrefix } from './services.js';

/**
 * One crawl by the product itself (createApp + startWorker in this process, fresh database and
 * queue prefix), timed from startCrawl until the last page of every run is committed.
 */
export interface CrawlResult {
  pages: number;
  seconds: number;
  /** CPU seconds during the crawl: this process (the crawler), the simulator's, the Postgres backends'. */
  cpu: { crawler: number; simulator: number; postgres: number };
  /** Medians (ms) of what the pipeline observer reports: fetch (request to parsed page) and commit. */
  medianFetchMs: number;
  medianCommitMs: number;
}

export async function timedCrawl(options: {
  baseUrl: string;
  simulatorPid: number;
  hashtags: string[];
  pagesPerHashtag: number;
  concurrency: number;
  config?: Partial<Config>;
}): Promise<CrawlResult> {
  const database = await freshDatabase();
  const prefix = freshPrefix();
  const expected = options.hashtags.length * options.pagesPerHashtag;
  let committed = 0;
  const fetchMs: number[] = [];
  const commitMs: number[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const app = createApp(
    benchConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: options.baseUrl, concurrency: options.concurrency, ...options.config }),
    benchLogger,
    {
      observer: {
        response(event) {
          fetchMs.push(event.latencyMs);
        },
        pageCommitted(event) {
          commitMs.push(event.commitMs);
          if (++committed === expected) finish();
        },
      },
    },
  );
  try {
    await warmUp(app);
    app.startWorker();
    const postgresBefore = await postgresBackendsCpu(database.name);
    const crawlerBefore = ownCpuSeconds();
    const simulatorBefore = cpuSecondsOf(options.simulatorPid);
    const started = performance.now();
    await startCrawl(app.database.db, app.queue, { hashtagIds: options.hashtags, maxPages: null, maxItems: null });
    await withDeadline(finished, 600_000, () => `crawl stuck at ${committed}/${expected} pages`);
    const seconds = (performance.now() - started) / 1000;
    const cpu = {
      crawler: ownCpuSeconds() - crawlerBefore,
      simulator: cpuSecondsOf(options.simulatorPid) - simulatorBefore,
      postgres: (await postgresBackendsCpu(database.name)) - postgresBefore,
    };
    await expectCompleted(app, options.hashtags.length, expected);
    return { pages: expected, seconds, cpu, medianFetchMs: median(fetchMs), medianCommitMs: median(commitMs) };
  } finally {
    await app.close();
    await prefix.clear();
    await database.drop();
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Connections opened before the clock starts: the first page should not pay for them. */
export async function warmUp(app: App): Promise<void> {
  await app.database.db.execute(sql`select 1`);
  await app.redis.ping();
}

export async function expectCompleted(app: App, runs: number, pages: number): Promise<void> {
  const result = await app.database.db.execute<{ completed: number; pages: number }>(
    sql`select count(*) filter (where status = 'completed')::int as completed, coalesce(sum(pages), 0)::int as pages from crawl_runs`,
  );
  const row = result.rows[0];
  if (row?.completed !== runs || row.pages !== pages) {
    throw new Error(`expected ${runs} completed runs with ${pages} pages, found ${JSON.stringify(row)}`);
  }
}

export async function withDeadline<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface OrderCheck {
  /** Every hashtag's requests came cursor after cursor, each after the previous one's answer. */
  inOrder: boolean;
  /** Most hashtags with a request in flight at the same moment. */
  maxHashtagsInFlight: number;
  /** Most requests of one hashtag in flight at the same moment (1 when pages stay in order). */
  maxPerHashtagInFlight: number;
}

/**
 * Median time, per hashtag, from the simulator finishing one page's answer to receiving the next
 * page's request: the crawler's whole hand-off between two pages (reading and parsing the body,
 * deciding, queueing the next job, starting it, taking a key), as upstream sees it.
 */
export function medianHandOffMs(records: RequestRecord[]): number {
  const gaps: number[] = [];
  for (const list of groupByHashtag(records).values()) {
    for (let i = 1; i < list.length; i++) gaps.push(list[i]!.atMs - list[i - 1]!.endMs);
  }
  return median(gaps);
}

function groupByHashtag(records: RequestRecord[]): Map<string, RequestRecord[]> {
  const byHashtag = new Map<string, RequestRecord[]>();
  for (const record of records) {
    const list = byHashtag.get(record.hashtagId) ?? [];
    list.push(record);
    byHashtag.set(record.hashtagId, list);
  }
  for (const list of byHashtag.values()) list.sort((a, b) => a.atMs - b.atMs);
  return byHashtag;
}

/** From the simulator's request log: whether hashtags ran in parallel while each one's pages stayed sequential. */
export function checkOrder(records: RequestRecord[]): OrderCheck {
  let inOrder = true;
  let maxPerHashtagInFlight = 0;
  for (const list of groupByHashtag(records).values()) {
    for (let i = 1; i < list.length; i++) {
      if (list[i]!.cursor <= list[i - 1]!.cursor || list[i]!.atMs < list[i - 1]!.endMs) inOrder = false;
    }
    maxPerHashtagInFlight = Math.max(maxPerHashtagInFlight, maxOverlap(list));
  }
  // Sweep over arrivals and answers: how many distinct hashtags are in flight at once.
  const events = records.flatMap((r) => [
    { at: r.atMs, hashtagId: r.hashtagId, delta: 1 },
    { at: r.endMs, hashtagId: r.hashtagId, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  const inFlight = new Map<string, number>();
  let maxHashtagsInFlight = 0;
  for (const event of events) {
    const count = (inFlight.get(event.hashtagId) ?? 0) + event.delta;
    if (count === 0) inFlight.delete(event.hashtagId);
    else inFlight.set(event.hashtagId, count);
    maxHashtagsInFlight = Math.max(maxHashtagsInFlight, inFlight.size);
  }
  return { inOrder, maxHashtagsInFlight, maxPerHashtagInFlight };
}

function maxOverlap(records: RequestRecord[]): number {
  const events = records.flatMap((r) => [
    { at: r.atMs, delta: 1 },
    { at: r.endMs, delta: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let max = 0;
  for (const event of events) max = Math.max(max, (current += event.delta));
  return max;
}
