/**
 * npm run bench:scale — what moves the ceiling past one process and what partitioning costs.
 *
 * 1. pages/s with 1, 2 and 4 worker processes (`hashtag-archiver worker`, concurrency 8 each)
 *    sharing one Redis Cluster (scripts/redis-cluster.sh, named by one node's URL only) and one
 *    Postgres, against the simulator in its own process with no rate limit and no latency.
 * 2. the cost of a page's 30 snapshot rows with HA_BENCH_SNAPSHOT_ROWS (10 million) rows already
 *    in video_snapshots, partitioned by month (the product's table) vs one plain table of the
 *    same shape, rows generated with generate_series over 24 months.
 * Each figure is measured twice (min – max). HA_REDIS_CLUSTER_PORT picks the cluster's ports.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { createApp } from '../src/app.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { killChildren, REPO_ROOT, startCliWorker, startSimChild } from './children.js';
import { benchConfig, benchLogger, cleanupAll, cleanupOnSignals, freshDatabase, SERVICES } from './services.js';
import { waitForRuns } from '../test/support/runs.js';
import { expectCompleted } from './crawl.js';

const WORKER_COUNTS = [1, 2, 4];
const HASHTAGS = 40;
const PAGES = 10;
const SNAPSHOT_ROWS = Number(process.env.HA_BENCH_SNAPSHOT_ROWS ?? 10_000_000);
const TIMED_PAGES = 300;

const log = (line: string) => process.stderr.write(`bench:scale: ${line}\n`);
const range = (values: number[], digits: number) => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

async function clusterUrl(): Promise<string> {
  const run = (command: string) => promisify(execFile)('bash', ['scripts/redis-cluster.sh', command], { cwd: REPO_ROOT, env: process.env });
  await run('up');
  return (await run('url')).stdout.trim();
}

async function pagesPerSecond(redisUrl: string, workers: number, round: number): Promise<number> {
  const database = await freshDatabase();
  const sim = await startSimChild({ itemsPerHashtag: PAGES * 30, latencyMs: 0 });
  const queuePrefix = `{ha-scale-${workers}-${round}-${Date.now()}}`;
  const config = benchConfig({ databaseUrl: database.url, queuePrefix, baseUrl: sim.baseUrl, redisUrl, redisCluster: true });
  const producer = createApp(config, benchLogger);
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    HA_QUEUE_PREFIX: queuePrefix,
    CRAWLORA_BASE_URL: sim.baseUrl,
    CRAWLORA_API_KEY: 'bench-key',
    CRAWLORA_PLAN: 'enterprise',
    CRAWLORA_RATE_PER_MIN: '100000000',
    HA_CONCURRENCY: '8',
    LOG_LEVEL: 'error',
  };
  const children = Array.from({ length: workers }, () => startCliWorker(env));
  try {
    // Let the workers connect before the clock starts.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const started = performance.now();
    const hashtagIds = Array.from({ length: HASHTAGS }, (_, i) => String(950_000 + i));
    const runs = await startCrawl(producer.database.db, producer.queue, { hashtagIds, maxPages: null, maxItems: null });
    await waitForRuns(producer.database.db, runs.map((run) => run.id), 600_000);
    await expectCompleted(producer, HASHTAGS, HASHTAGS * PAGES);
    return (HASHTAGS * PAGES) / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(children.map((child) => child.stop()));
    await producer.close();
    await sim.close();
    await database.drop();
  }
}

/** ms of Postgres time to insert one page's 30 snapshot rows into `table`, over TIMED_PAGES pages. */
async function snapshotInsertMs(client: pg.Client, table: string): Promise<number> {
  const started = performance.now();
  for (let page = 0; page < TIMED_PAGES; page += 1) {
    await client.query(
      `INSERT INTO ${table} (video_id, run_id, play_count, digg_count, comment_count, share_count, collect_count)
       SELECT 'v' || (($1::int * 30 + n) % 100000), NULL, n, n, n, n, n FROM generate_series(1, 30) n`,
      [page],
    );
  }
  return (performance.now() - started) / TIMED_PAGES;
}

async function snapshotCost(): Promise<{ partitioned: number[]; plain: number[]; fillSeconds: number }> {
  const database = await freshDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const fillStarted = performance.now();
    await client.query(`INSERT INTO videos (id, raw) SELECT 'v' || n, '{}'::jsonb FROM generate_series(0, 99999) n`);
    // The table before partitioning, as migration 0001 made it.
    await client.query(`CREATE TABLE snapshots_plain (LIKE video_snapshots INCLUDING DEFAULTS)`);
    await client.query(`ALTER TABLE snapshots_plain ADD PRIMARY KEY (id), ADD FOREIGN KEY (video_id) REFERENCES videos(id) ON DELETE CASCADE`);
    await client.query(`CREATE INDEX ON snapshots_plain (video_id, captured_at)`);
    // 24 months of history ending now, in both tables (the partitions exist for every month).
    const months = await client.query<{ month: Date }>(`SELECT generate_series(date_trunc('month', now()) - interval '23 months', date_trunc('month', now()), interval '1 month') AS month`);
    for (const { month } of months.rows) {
      const name = `video_snapshots_p${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
      await client.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF video_snapshots FOR VALUES FROM ('${month.toISOString()}') TO ('${new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1)).toISOString()}')`);
    }
    for (const table of ['video_snapshots', 'snapshots_plain']) {
      await client.query(
        `INSERT INTO ${table} (video_id, captured_at, play_count) SELECT 'v' || (n % 100000), now() - (n::float8 / $1) * interval '690 days', n FROM generate_series(1, $1) n`,
        [SNAPSHOT_ROWS],
      );
      await client.query(`VACUUM ANALYZE ${table}`);
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const partitioned: number[] = [];
    const plain: number[] = [];
    for (let round = 0; round < 2; round += 1) {
      partitioned.push(await snapshotInsertMs(client, 'video_snapshots'));
      plain.push(await snapshotInsertMs(client, 'snapshots_plain'));
    }
    return { partitioned, plain, fillSeconds };
  } finally {
    await client.end();
    await database.drop();
  }
}

async function main(): Promise<void> {
  cleanupOnSignals(killChildren);
  try {
    const redisUrl = await clusterUrl();
    log(`cluster ${redisUrl}, Postgres ${new URL(SERVICES.databaseUrl).port}`);
    const rates = new Map<number, number[]>();
    for (let round = 0; round < 2; round += 1) {
      for (const workers of WORKER_COUNTS) {
        const rate = await pagesPerSecond(redisUrl, workers, round);
        rates.set(workers, [...(rates.get(workers) ?? []), rate]);
        log(`${workers} worker process(es): ${rate.toFixed(0)} pages/s`);
      }
    }
    log(`filling ${SNAPSHOT_ROWS.toLocaleString('en-US')} snapshot rows into each table…`);
    const cost = await snapshotCost();
    const lines = [
      '| figure | min – max |',
      '|---|---|',
      ...WORKER_COUNTS.map((workers) => `| pages/s, ${workers} worker process(es) × concurrency 8, Redis Cluster | ${range(rates.get(workers)!, 0)} |`),
      `| 2 processes / 1 | ${range(rates.get(2)!.map((rate, i) => rate / rates.get(1)![i]!), 2)} |`,
      `| 4 processes / 1 | ${range(rates.get(4)!.map((rate, i) => rate / rates.get(1)![i]!), 2)} |`,
      `| a page's 30 snapshot rows, ${SNAPSHOT_ROWS.toLocaleString('en-US')} rows in, partitioned by month | ${range(cost.partitioned, 2)} ms |`,
      `| the same into one plain table | ${range(cost.plain, 2)} ms |`,
      `| partitioned / plain | ${range(cost.partitioned.map((ms, i) => ms / cost.plain[i]!), 2)} |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n(filling both tables took ${cost.fillSeconds.toFixed(0)} s)\n`);
  } finally {
    killChildren();
    await cleanupAll();
  }
}

await main();
