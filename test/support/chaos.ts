import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app.js';
import { getRuns, FINISHED_STATUSES } from '../../src/db/runs.js';
import type { CrawlRun } from '../../src/db/schema.js';
import { startCrawl } from '../../src/queue/start-crawl.js';
import { catalogueIds } from '../../src/sim/catalogue.js';
import { startSimulator } from '../../src/sim/server.js';
import { freshDatabase, freshPrefix, SERVICES, silentLogger, testConfig } from './services.js';

const BIN = fileURLToPath(new URL('../../bin/hashtag-archiver.js', import.meta.url));
const SERVICES_SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));
const PAGE_ITEMS = 30;

export interface ChaosOptions {
  hashtags: number;
  pagesPerHashtag: number;
  workers: number;
  /** A random worker that has started is killed with SIGKILL (and a new one started) this often; 0 = never. */
  killEveryMs: number;
  /** Restart the shared Redis / Postgres this long after the first page is served. */
  restartRedisAfterMs?: number;
  restartPostgresAfterMs?: number;
  /** How long the restarted Postgres stays down; default 0 (a plain restart). */
  postgresDownMs?: number;
  /** The simulator's response time, to keep a small crawl going until its disruption; default 0. */
  latencyMs?: number;
  /** FLUSHALL on the shared Redis this long after the first page is served: every job, counter and setting is gone. */
  flushRedisAfterMs?: number;
  timeoutMs: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  runs: CrawlRun[];
  kills: number;
  pagesNeeded: number;
  pagesCharged: number;
  /** Pages the simulator answered 200 more than once (same hashtag and cursor). */
  pagesPaidTwice: number;
  /** What the credit ledger recorded (certain and uncertain), against what the simulator charged. */
  ledgerCredits: number;
  /** Of the ledger, the charges of answers that arrived: requests cut by a kill are uncertain. */
  ledgerCertainCredits: number;
  simulatorCredits: number;
  /** Catalogue ids missing from the archive, and archived ids the simulator never served. */
  missingIds: number;
  unexpectedIds: number;
  videoRows: number;
  elapsedMs: number;
}

/**
 * Crawls simulated hashtags with real worker processes (`hashtag-archiver worker`) while killing
 * them, and optionally restarting Redis or Postgres, then compares the archive with what the
 * simulator holds. Each worker runs one page at a time, so a kill can waste at most one page.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const database = await freshDatabase();
  const prefix = freshPrefix();
  const sim = await startSimulator({ itemsPerHashtag: options.pagesPerHashtag * PAGE_ITEMS, latencyMs: options.latencyMs ?? 0 });
  const producer = createApp(testConfig({ databaseUrl: database.url, queuePrefix: prefix.prefix, baseUrl: sim.baseUrl }), silentLogger);
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    HA_QUEUE_PREFIX: prefix.prefix,
    CRAWLORA_BASE_URL: sim.baseUrl,
    CRAWLORA_API_KEY: 'chaos-key',
    CRAWLORA_PLAN: 'enterprise',
    CRAWLORA_RATE_PER_MIN: '1000000',
    HA_CONCURRENCY: '1',
    // Requests and credits are counted against pages alone: no hashtag count lookups.
    HA_COVERAGE: 'off',
    HA_JOB_LOCK_MS: '2000',
    HA_RECONCILE_EVERY_MS: '3000',
    // Bounds a request in flight, hence the wait before jobs lost with Redis's data are re-added.
    CRAWLORA_TIMEOUT_MS: '5000',
    // Info, for the "worker started" line (on stderr) that makes a worker a candidate for the next kill.
    LOG_LEVEL: 'info',
  };
  const workers = new Set<ChildProcess>();
  // Only workers that have started take jobs. Killing one still loading (seconds on a loaded
  // machine) tests nothing and, every killEveryMs, can leave no worker ever ready: the crawl stalls.
  const ready = new Set<ChildProcess>();
  const startWorker = () => {
    const worker = spawn(process.execPath, [BIN, 'worker'], { env, stdio: ['ignore', process.env.CHAOS_WORKER_OUTPUT ? 'inherit' : 'ignore', 'pipe'] });
    workers.add(worker);
    createInterface({ input: worker.stderr! }).on('line', (line) => {
      if (process.env.CHAOS_WORKER_OUTPUT) process.stderr.write(`${line}\n`);
      if (line.includes('"msg":"worker started"')) ready.add(worker);
    });
    worker.once('exit', () => {
      workers.delete(worker);
      ready.delete(worker);
    });
  };
  const hashtagIds = Array.from({ length: options.hashtags }, (_, i) => String(900_000 + i));
  const startedMs = Date.now();
  let kills = 0;
  const timers: NodeJS.Timeout[] = [];
  try {
    for (let i = 0; i < options.workers; i += 1) startWorker();
    const runs = await startCrawl(producer.database.db, producer.queue, { hashtagIds, maxPages: null, maxItems: null });
    if (options.killEveryMs > 0) {
      timers.push(
        setInterval(() => {
          const victims = [...ready];
          const victim = victims[Math.floor(Math.random() * victims.length)];
          if (!victim) return;
          victim.kill('SIGKILL');
          kills += 1;
          startWorker();
          log(`kill #${kills} at ${Date.now() - startedMs} ms`);
        }, options.killEveryMs),
      );
    }
    // Disruptions are timed from the first page served: a worker that starts (slowly, on a loaded
    // machine) while Postgres is down exits at its start-up check instead of waiting.
    const crawling = (async () => {
      while (!sim.stats().pageRequests.some((request) => request.status === 200)) await sleep(50);
    })();
    const restarts: Promise<void>[] = [];
    for (const [service, afterMs] of [
      ['redis', options.restartRedisAfterMs],
      ['postgres', options.restartPostgresAfterMs],
    ] as const) {
      if (afterMs === undefined) continue;
      restarts.push(
        crawling.then(() => sleep(afterMs)).then(async () => {
          log(`restarting ${service} at ${Date.now() - startedMs} ms`);
          const downSeconds = service === 'postgres' ? Math.ceil((options.postgresDownMs ?? 0) / 1000) : 0;
          await promisify(execFile)('bash', [SERVICES_SCRIPT, `restart-${service}`, String(downSeconds)]);
          log(`${service} back at ${Date.now() - startedMs} ms`);
        }),
      );
    }

    if (options.flushRedisAfterMs !== undefined) {
      const afterMs = options.flushRedisAfterMs;
      restarts.push(
        crawling.then(() => sleep(afterMs)).then(async () => {
          log(`FLUSHALL on Redis at ${Date.now() - startedMs} ms`);
          const redis = new Redis(SERVICES.redisUrl);
          try {
            await redis.flushall();
          } finally {
            redis.disconnect();
          }
        }),
      );
    }

    const runIds = runs.map((run) => run.id);
    let finished: CrawlRun[] = [];
    while (Date.now() - startedMs < options.timeoutMs) {
      finished = await getRuns(producer.database.db, runIds).catch(() => finished);
      if (finished.length === runIds.length && finished.every((run) => FINISHED_STATUSES.includes(run.status))) break;
      await sleep(250);
    }
    timers.forEach(clearInterval);
    await Promise.all(restarts);
    // Charges a killed worker noted reach the ledger by the live workers' flush, once it has been
    // silent long enough to be taken for dead: the ledger is read when none is left in Redis.
    const chargesKey = `${prefix.prefix}:pending-charges`;
    for (const deadline = Date.now() + 30_000; (await producer.redis.hlen(chargesKey).catch(() => 1)) > 0 && Date.now() < deadline; ) await sleep(250);

    const archived = await producer.database.db.execute<{ hashtag_id: string; video_id: string }>(
      sql`select hashtag_id, video_id from hashtag_videos`,
    );
    const archivedSet = new Set(archived.rows.map((row) => `${row.hashtag_id}/${row.video_id}`));
    const expected = new Set(hashtagIds.flatMap((id) => catalogueIds(id, options.pagesPerHashtag * PAGE_ITEMS).map((video) => `${id}/${video}`)));
    const [videoRows] = (await producer.database.db.execute<{ count: number }>(sql`select count(*)::int as count from videos`)).rows;
    const [ledger] = (
      await producer.database.db.execute<{ credits: number; certain: number }>(
        sql`select coalesce(sum(credits), 0)::int as credits, coalesce(sum(credits) filter (where not uncertain), 0)::int as certain from credit_ledger`,
      )
    ).rows;
    const served = sim.stats().pageRequests.filter((request) => request.status === 200);
    return {
      runs: finished,
      kills,
      pagesNeeded: options.hashtags * options.pagesPerHashtag,
      pagesCharged: sim.stats().creditsTotal / 8,
      pagesPaidTwice: served.length - new Set(served.map((request) => `${request.hashtagId}/${request.cursor}`)).size,
      ledgerCredits: ledger?.credits ?? 0,
      ledgerCertainCredits: ledger?.certain ?? 0,
      simulatorCredits: sim.stats().creditsTotal,
      missingIds: [...expected].filter((key) => !archivedSet.has(key)).length,
      unexpectedIds: [...archivedSet].filter((key) => !expected.has(key)).length,
      videoRows: videoRows?.count ?? 0,
      elapsedMs: Date.now() - startedMs,
    };
  } finally {
    timers.forEach(clearInterval);
    for (const worker of workers) worker.kill('SIGKILL');
    await producer.close();
    await sim.close();
    await prefix.clear();
    await database.drop();
  }
}
