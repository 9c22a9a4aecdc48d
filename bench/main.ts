/**
 * `npm run bench`: ceilings of the crawler's two backends, the crawler end to end against them,
 * its per-page overhead, memory, and how it scales. Every figure is measured twice; the table
 * shows min and max. The last line is `e2e/raw ratio: <number>`.
 *
 * Runs on the services `scripts/services.sh up` started (scripts/with-services.sh exports their URLs),
 * each measurement in a database and queue prefix of its own, all removed afterwards.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createApp } from '../src/app.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { killChildren, startSimChild, type SimChild } from './children.js';
import { checkOrder, medianHandOffMs, timedCrawl, warmUp, type OrderCheck } from './crawl.js';
import { memoryRun, type MemoryResult } from './memory.js';
import { rawBullmq } from './raw-bullmq.js';
import { encodePages, hashtagIds, PAGE_SIZE, plannedPages, rawUpsert, type RawRunResult, type Shape } from './raw-postgres.js';
import { benchConfig, benchLogger, cleanupAll, cleanupOnSignals, freshDatabase, freshPrefix, SERVICES } from './services.js';

const env = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]));

/** Pages fetched / upserted at once, in rows 1, 2, 3 and 5. */
const CONCURRENCY = env('BENCH_CONCURRENCY', 8);
/** Rows 1–3: the same pages, HASHTAGS × PAGES_PER_HASHTAG of them. */
const HASHTAGS = env('BENCH_HASHTAGS', 40);
const PAGES_PER_HASHTAG = env('BENCH_PAGES_PER_HASHTAG', 30);
const PAGES = HASHTAGS * PAGES_PER_HASHTAG;
/** Rows 4 and 6: simulator latency, and a concurrency that lets all 10 hashtags be in flight. */
const LATENCY_MS = 50;
const SCALE_CONCURRENCY = env('BENCH_SCALE_CONCURRENCY', 10);
const SCALE_PAGES = env('BENCH_SCALE_PAGES', 1_000);
/** Row 5: pages aimed at, and a safety limit on each of its two runs. */
const MEMORY_HASHTAGS = 200;
const MEMORY_PAGES_PER_HASHTAG = env('BENCH_MEMORY_PAGES', 20_000) / MEMORY_HASHTAGS;
const MEMORY_SECONDS = env('BENCH_MEMORY_SECONDS', 900);
const BULK_HASHTAGS = 10_000;
const RUNS = 2;

interface Row {
  id: string;
  figure: string;
  values: number[];
  unit: string;
  digits: number;
  notes: string;
}

const rows: Row[] = [];
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const fmt = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
/** min–max of some per-run values, one decimal. */
const range = (values: number[]) =>
  Math.min(...values).toFixed(1) === Math.max(...values).toFixed(1) ? Math.min(...values).toFixed(1) : `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;
/** CPU milliseconds per page, min–max over runs. */
const perPage = (cpuSeconds: number[], pages: number) => range(cpuSeconds.map((seconds) => (seconds * 1000) / pages));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function twice<T>(what: string, run: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let index = 0; index < RUNS; index++) {
    const started = performance.now();
    results.push(await run(index));
    log(`${what}: run ${index + 1}/${RUNS} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  return results;
}

function addRow(row: Row): Row {
  rows.push(row);
  log(`${row.id} ${row.figure}: ${row.values.map((v) => fmt(v, row.digits)).join(', ')} ${row.unit}${row.notes ? ` (${row.notes})` : ''}`);
  return row;
}

async function versions(): Promise<string> {
  const client = new pg.Client({ connectionString: SERVICES.databaseUrl });
  client.on('error', () => {});
  await client.connect();
  const pgVersion = (await client.query<{ server_version: string }>('show server_version')).rows[0]?.server_version ?? '?';
  await client.end();
  const redis = new Redis(SERVICES.redisUrl);
  const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? '?';
  redis.disconnect();
  return `Node ${process.version}, PostgreSQL ${pgVersion}, Redis ${redisVersion}`;
}

// ---------------------------------------------------------------- 1. raw Postgres

/** Row 1's rates, and the CPU a page row 1c's Postgres spent (the crawl's Postgres is set against it). */
async function rawPostgresRows(hashtags: string[]): Promise<{ ceiling: number[]; fullPostgresMsPerPage: number[] }> {
  const measure = (what: string, shape: Shape, tables: 'minimal' | 'full') => {
    const encoded = encodePages(plannedPages(hashtags, PAGES_PER_HASHTAG), shape);
    return twice(what, async () => {
      const database = await freshDatabase();
      try {
        return await rawUpsert(database.url, encoded, shape, CONCURRENCY, tables);
      } finally {
        await database.drop();
      }
    });
  };
  const rate = (runs: RawRunResult[]) => runs.map((run) => run.pages / run.seconds);
  const cpuNote = (runs: RawRunResult[]) =>
    `CPU/page: Postgres ${perPage(runs.map((r) => r.postgresCpu), PAGES)} ms, loop ${perPage(runs.map((r) => r.loopCpu), PAGES)} ms`;
  const unnest = await measure('1a raw Postgres (unnest)', 'unnest', 'minimal');
  const jsonb = await measure('1b raw Postgres (jsonb)', 'jsonb', 'minimal');
  const best: Shape = mean(rate(unnest)) >= mean(rate(jsonb)) ? 'unnest' : 'jsonb';
  addRow({ id: '1a', figure: 'raw Postgres, arrays through unnest(...)', values: rate(unnest), unit: 'pages/s', digits: 1, notes: `videos + hashtag_videos; ${cpuNote(unnest)}` });
  addRow({ id: '1b', figure: 'raw Postgres, page as one jsonb (jsonb_to_recordset)', values: rate(jsonb), unit: 'pages/s', digits: 1, notes: `videos + hashtag_videos; ${cpuNote(jsonb)}` });
  const ceiling = addRow({
    id: '1',
    figure: 'Raw Postgres ceiling (faster shape)',
    values: rate(best === 'unnest' ? unnest : jsonb),
    unit: 'pages/s',
    digits: 1,
    notes: `${best} (higher mean); ${PAGES} pages of ${PAGE_SIZE} items (${HASHTAGS} hashtags), ${CONCURRENCY} connections, one transaction a page, parameters built before timing`,
  });
  const full = await measure("1c raw Postgres, the product's tables", best, 'full');
  addRow({
    id: '1c',
    figure: "raw Postgres writing all of the product's tables",
    values: rate(full),
    unit: 'pages/s',
    digits: 1,
    notes: `${best}; + crawl_pages, video_snapshots (CTE), credit_ledger, crawl_runs counters: not part of the ceiling; ${cpuNote(full)}`,
  });
  return { ceiling: ceiling.values, fullPostgresMsPerPage: full.map((run) => (run.postgresCpu * 1000) / run.pages) };
}

// ---------------------------------------------------------------- 2. raw BullMQ

async function rawBullmqRow(): Promise<number[]> {
  const values = await twice('2 raw BullMQ', async () => {
    const prefix = freshPrefix();
    try {
      const result = await rawBullmq(prefix.prefix, HASHTAGS, PAGES_PER_HASHTAG, CONCURRENCY);
      return result.jobs / result.seconds;
    } finally {
      await prefix.clear();
    }
  });
  return addRow({
    id: '2',
    figure: 'Raw BullMQ ceiling (empty jobs enqueueing their successor)',
    values,
    unit: 'jobs/s',
    digits: 0,
    notes: `${HASHTAGS} chains × ${PAGES_PER_HASHTAG}, concurrency ${CONCURRENCY}`,
  }).values;
}

// ---------------------------------------------------------------- 3. end to end

async function endToEndRow(sim: SimChild, hashtags: string[], ceiling: number, barePostgresMsPerPage: number[]): Promise<number> {
  await sim.configure({ latencyMs: 0, itemsPerHashtag: PAGES_PER_HASHTAG * PAGE_SIZE });
  // One unmeasured crawl first, so both measured runs find the crawler's code already compiled
  // by V8, as in a worker that has been running for a while.
  await sim.reset();
  await timedCrawl({ baseUrl: sim.baseUrl, simulatorPid: sim.pid, hashtags: hashtagIds(10, 12_000_000), pagesPerHashtag: PAGES_PER_HASHTAG, concurrency: CONCURRENCY });
  const results = await twice('3 end to end', async () => {
    await sim.reset();
    const result = await timedCrawl({ baseUrl: sim.baseUrl, simulatorPid: sim.pid, hashtags, pagesPerHashtag: PAGES_PER_HASHTAG, concurrency: CONCURRENCY });
    const summary = await sim.summary();
    if (summary.requests !== PAGES) throw new Error(`end to end: ${summary.requests} requests for ${PAGES} pages`);
    return result;
  });
  const values = results.map((result) => result.pages / result.seconds);
  const ratios = values.map((value) => value / ceiling);
  addRow({
    id: '3',
    figure: 'End to end: crawler archiving the same pages',
    values,
    unit: 'pages/s',
    digits: 1,
    notes:
      `${HASHTAGS} hashtags, concurrency ${CONCURRENCY}, simulator at 0 ms in its own process; CPU/page: ` +
      `crawler ${perPage(results.map((r) => r.cpu.crawler), PAGES)} ms, simulator ${perPage(results.map((r) => r.cpu.simulator), PAGES)} ms, ` +
      `Postgres ${perPage(results.map((r) => r.cpu.postgres), PAGES)} ms`,
  });
  addRow({
    id: '3r',
    figure: 'End to end / min(1, 2)',
    values: ratios,
    unit: '',
    digits: 2,
    notes: `min(1, 2) = ${fmt(ceiling, 1)}/s, the best run of each; target ≥ 0.8`,
  });
  const bareMs = Math.min(...barePostgresMsPerPage);
  addRow({
    id: '3p',
    figure: "Postgres CPU a page: row 1c's bare loop / the crawl's",
    values: results.map((result) => bareMs / ((result.cpu.postgres * 1000) / PAGES)),
    unit: '',
    digits: 2,
    notes: `how close the product's page transaction comes to bare statements writing the same tables (1c: ${fmt(bareMs, 2)} ms, its cheaper run); the crawl's also holds the run check and the completion check`,
  });
  return Math.min(...ratios);
}

// ---------------------------------------------------------------- 4 and 6. latency, order, scale

async function scaleRows(sim: SimChild): Promise<void> {
  const crawl = async (hashtagCount: number, pagesPerHashtag: number, base: number) => {
    await sim.configure({ latencyMs: LATENCY_MS, itemsPerHashtag: pagesPerHashtag * PAGE_SIZE });
    await sim.reset();
    const result = await timedCrawl({
      baseUrl: sim.baseUrl,
      simulatorPid: sim.pid,
      hashtags: hashtagIds(hashtagCount, base),
      pagesPerHashtag,
      concurrency: SCALE_CONCURRENCY,
    });
    const summary = await sim.summary();
    return { ...result, order: checkOrder(summary.records), handOffMs: medianHandOffMs(summary.records) };
  };
  const many = await twice(`6 scale: 10 × ${SCALE_PAGES / 10}`, () => crawl(10, SCALE_PAGES / 10, 30_000_000));
  const one = await twice(`4/6 one hashtag × ${SCALE_PAGES}`, () => crawl(1, SCALE_PAGES, 31_000_000));

  const overheads = one.map((run) => (run.seconds / SCALE_PAGES - LATENCY_MS / 1000) * 1000);
  addRow({
    id: '4',
    figure: `Per-page overhead (one hashtag, simulator latency ${LATENCY_MS} ms)`,
    values: overheads,
    unit: 'ms/page',
    digits: 2,
    notes:
      `seconds per page − ${LATENCY_MS} ms over ${SCALE_PAGES} sequential pages (the simulator renders within its latency); target ≤ 5 ms. Medians per page: ` +
      `from the simulator's answer to its next request ${range(one.map((r) => r.handOffMs))} ms (reading and parsing the body, queueing and starting the next job, taking a key); ` +
      `commit ${range(one.map((r) => r.medianCommitMs))} ms, overlapped with the next page's fetch`,
  });
  const orderNote = (runs: Array<{ order: OrderCheck }>) =>
    `order kept: ${runs.every((r) => r.order.inOrder && r.order.maxPerHashtagInFlight === 1) ? 'yes' : 'NO'}, ` +
    `hashtags in flight at once: ${Math.max(...runs.map((r) => r.order.maxHashtagsInFlight))}`;
  addRow({
    id: '6a',
    figure: `Scale: 10 hashtags × ${SCALE_PAGES / 10} pages, ${LATENCY_MS} ms latency`,
    values: many.map((r) => r.seconds),
    unit: 's',
    digits: 1,
    notes: `concurrency ${SCALE_CONCURRENCY}; ${orderNote(many)}`,
  });
  addRow({
    id: '6b',
    figure: `Scale: 1 hashtag × ${SCALE_PAGES} pages, ${LATENCY_MS} ms latency`,
    values: one.map((r) => r.seconds),
    unit: 's',
    digits: 1,
    notes: `concurrency ${SCALE_CONCURRENCY}; ${orderNote(one)}; speed-up of 10 × ${SCALE_PAGES / 10}: ${fmt(
      Math.min(...one.map((r) => r.seconds)) / Math.max(...many.map((r) => r.seconds)),
      1,
    )}–${fmt(Math.max(...one.map((r) => r.seconds)) / Math.min(...many.map((r) => r.seconds)), 1)}×`,
  });
}

async function bulkEnqueueRow(): Promise<void> {
  const values = await twice(`6c enqueue ${BULK_HASHTAGS} hashtags`, async () => {
    const database = await freshDatabase();
    const prefix = freshPrefix();
    const app = createApp(benchConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: 'http://127.0.0.1:9' }), benchLogger);
    try {
      await warmUp(app);
      const ids = hashtagIds(BULK_HASHTAGS, 40_000_000);
      const started = performance.now();
      const runs = await startCrawl(app.database.db, app.queue, { hashtagIds: ids, maxPages: null, maxItems: null });
      const seconds = (performance.now() - started) / 1000;
      const counts = await app.queue.getJobCounts('wait', 'prioritized');
      const queued = (counts.wait ?? 0) + (counts.prioritized ?? 0);
      if (runs.length !== BULK_HASHTAGS || queued !== BULK_HASHTAGS) throw new Error(`bulk enqueue: ${runs.length} runs, ${queued} jobs queued`);
      return seconds;
    } finally {
      await app.close();
      await prefix.clear();
      await database.drop();
    }
  });
  addRow({
    id: '6c',
    figure: `Enqueue ${BULK_HASHTAGS.toLocaleString('en')} hashtags (startCrawl: runs + addBulk)`,
    values,
    unit: 's',
    digits: 2,
    notes: '1,000 runs per INSERT, 1,000 jobs per addBulk',
  });
}

// ---------------------------------------------------------------- 5. memory

async function memoryRows(sim: SimChild): Promise<void> {
  await sim.configure({ latencyMs: 0, itemsPerHashtag: MEMORY_PAGES_PER_HASHTAG * PAGE_SIZE });
  const results: MemoryResult[] = await twice('5 memory', async (index) => {
    await sim.reset();
    return memoryRun({
      baseUrl: sim.baseUrl,
      hashtags: hashtagIds(MEMORY_HASHTAGS, 50_000_000 + index * 1_000),
      pagesPerHashtag: MEMORY_PAGES_PER_HASHTAG,
      concurrency: CONCURRENCY,
      maxSeconds: MEMORY_SECONDS,
    });
  });
  for (const [index, result] of results.entries()) {
    log(
      `5 memory run ${index + 1}: RSS by time: ` +
        result.samples.map(([t, rss, pages]) => `${t.toFixed(0)}s/${pages}p:${(rss / 1048576).toFixed(0)}`).join(' '),
    );
  }
  const sampleLine = (result: MemoryResult) =>
    [0.1, 0.25, 0.5, 0.75, 1]
      .map((fraction) => result.samples[Math.min(result.samples.length - 1, Math.max(0, Math.ceil(fraction * result.samples.length) - 1))]!)
      .map(([, rss, pages]) => `${pages.toLocaleString('en')}p ${(rss / 1048576).toFixed(0)}`)
      .join(', ');
  addRow({
    id: '5',
    figure: 'Memory: peak RSS of a production worker (npm run build; bin/hashtag-archiver-dist.js worker, V8 flags in its shebang)',
    values: results.map((r) => r.peakRss / 1048576),
    unit: 'MB',
    digits: 0,
    notes:
      `pages crawled: ${results.map((r) => `${r.pages.toLocaleString('en')} in ${r.seconds.toFixed(0)} s`).join(' / ')}, concurrency ${CONCURRENCY}; ` +
      `worker CPU ${results.map((r) => ((r.cpuSeconds * 1000) / r.pages).toFixed(1)).join(' / ')} ms/page; RSS MB by pages: ${results.map(sampleLine).join(' / ')}`,
  });
  addRow({
    id: '5g',
    figure: "Memory: growth of the worker's heap floor (heapUsed after collections)",
    values: results.map((r) => r.heapGrowthPer1000Pages / 1048576),
    unit: 'MB/1,000 pages',
    digits: 2,
    notes:
      `least-squares slope over the last 4 fifths of each run (the first holds start-up), ~0 = flat; floor MB by pages: ` +
      results
        .map((r) =>
          r.heapFloor
            .slice(1)
            .map(([pages, bytes]) => `${pages.toLocaleString('en')}p ${(bytes / 1048576).toFixed(0)}`)
            .join(', '),
        )
        .join(' / '),
  });
  addRow({
    id: '5r',
    figure: "Memory: Redis after the crawl, the bench prefix's keys",
    values: results.map((r) => r.redisPrefix.bytes / 1048576),
    unit: 'MB',
    digits: 2,
    notes:
      `${results.map((r) => `${r.redisPrefix.keys} keys, ${r.completedJobsKept} completed jobs kept`).join(' / ')}; ` +
      `server used_memory ${results.map((r) => mb(r.redisUsedMemory)).join(' / ')} (shared server)`,
  });
}

// ---------------------------------------------------------------- table

function printTable(header: string): void {
  const lines = [
    header,
    '',
    '| # | Figure | min | max | unit | notes |',
    '|---|---|---:|---:|---|---|',
    ...rows.map((row) => {
      const min = Math.min(...row.values);
      const max = Math.max(...row.values);
      return `| ${row.id} | ${row.figure} | ${fmt(min, row.digits)} | ${fmt(max, row.digits)} | ${row.unit} | ${row.notes} |`;
    }),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  cleanupOnSignals(killChildren);
  const startedAt = performance.now();
  const load = () => os.loadavg().map((v) => v.toFixed(1)).join(' ');
  const machine = `${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB; ${await versions()}`;
  const loadBefore = load();
  log(`${machine}; load average ${loadBefore}`);

  const hashtags = hashtagIds(HASHTAGS, 10_000_000);
  const sim = await startSimChild({ latencyMs: 0, itemsPerHashtag: PAGES_PER_HASHTAG * PAGE_SIZE });
  let ratio = Number.NaN;
  try {
    const postgres = await rawPostgresRows(hashtags);
    const bullmq = await rawBullmqRow();
    ratio = await endToEndRow(sim, hashtags, Math.min(Math.max(...postgres.ceiling), Math.max(...bullmq)), postgres.fullPostgresMsPerPage);
    await scaleRows(sim);
    await memoryRows(sim);
    await bulkEnqueueRow();
  } finally {
    await sim.close();
    killChildren();
    await cleanupAll();
  }
  const minutes = (performance.now() - startedAt) / 60_000;
  printTable(
    `Benchmarks (${machine}; load average before ${loadBefore}, after ${load()}; ${RUNS} runs a row, ${minutes.toFixed(1)} min in all)`,
  );
  process.stdout.write(`e2e/raw ratio: ${ratio.toFixed(2)}\n`);
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killChildren();
    await cleanupAll();
    process.exit(1);
  },
);
