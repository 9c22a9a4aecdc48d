import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPagesQueue } from '../src/queue/pages-queue.js';
import { startCrawl } from '../src/queue/start-crawl.js';
import { createPipelineMetrics, metricsRoute } from '../src/server/metrics.js';
import { startServer, DASHBOARD_PARTS } from '../src/server/server.js';
import { waitForRuns } from './support/runs.js';
import { spawnCli, startTestServer, waitForQueueIdle, type TestServer } from './support/server.js';

const pipeline = createPipelineMetrics();
let t: TestServer;

beforeAll(async () => {
  // What `worker --metrics-port` runs: workers feeding the counters, and a server with just /metrics.
  t = await startTestServer({ app: { observer: pipeline.observer }, parts: [metricsRoute(pipeline)] });
});

afterAll(async () => {
  await t?.close();
});

/** The value of one sample line of the exposition, e.g. `ha_responses_total{outcome="ok"}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no ${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts pages, items, responses by outcome, credits and fetch latency of this process, and queue depth at scrape', async () => {
    t.sim.configure({ faults: [{ kind: '429', hashtagId: '8100', times: 1 }] });
    const runs = await startCrawl(t.app.database.db, t.app.queue, { hashtagIds: ['8100', '8101'], maxPages: null, maxItems: null });
    await waitForRuns(t.app.database.db, runs.map((run) => run.id));
    await waitForQueueIdle(t.app.queue);

    const response = await t.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(sample(text, 'ha_pages_fetched_total')).toBe(6);
    expect(sample(text, 'ha_items_upserted_total')).toBe(180);
    expect(sample(text, 'ha_new_items_total')).toBe(180);
    expect(sample(text, 'ha_responses_total{outcome="ok"}')).toBe(6);
    expect(sample(text, 'ha_responses_total{outcome="rate-limited"}')).toBe(1);
    expect(sample(text, 'ha_responses_total{outcome="bad-key"}')).toBe(0);
    expect(sample(text, 'ha_credits_charged_total')).toBe(48);
    expect(sample(text, 'ha_page_fetch_seconds_count{outcome="ok"}')).toBe(6);
    expect(sample(text, 'ha_page_fetch_seconds_bucket{le="+Inf",outcome="ok"}')).toBe(6);
    expect(sample(text, 'ha_page_commit_seconds_count')).toBe(6);
    const counts = await t.app.queue.getJobCounts('waiting', 'completed');
    expect(sample(text, 'ha_queue_jobs{state="waiting"}')).toBe(counts.waiting);
    expect(sample(text, 'ha_queue_jobs{state="completed"}')).toBe(counts.completed);
    expect(counts.completed).toBeGreaterThanOrEqual(6);
  });

  it("serve's /metrics, with no worker in its process, has the queue gauges and none of the pipeline counters", async () => {
    const server = await startServer(t.app, { host: '127.0.0.1', port: 0, parts: DASHBOARD_PARTS });
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(sample(text, 'ha_queue_jobs{state="active"}')).toBe(0);
      expect(text).not.toContain('ha_pages_fetched_total');
    } finally {
      await server.close();
    }
  });

  it('worker --metrics-port serves the counters of the pages it crawls, and exits 143 on SIGTERM', async () => {
    const { databaseUrl, redisUrl, queuePrefix, baseUrl } = t.app.config;
    const prefix = `${queuePrefix}-cli`;
    const worker = spawnCli(['worker', '--metrics-port', '0'], {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      HA_QUEUE_PREFIX: prefix,
      CRAWLORA_BASE_URL: baseUrl,
      CRAWLORA_API_KEY: 'metrics-cli-key',
      CRAWLORA_PLAN: 'enterprise',
    });
    const [, url] = await worker.waitForStderr(/"metrics":"(http:\/\/127\.0\.0\.1:\d+)"/);
    // Under this file's prefix, so its cleanup removes these keys too.
    const queue = createPagesQueue(t.app.redis, { prefix, attempts: 3 });
    try {
      const runs = await startCrawl(t.app.database.db, queue, { hashtagIds: ['8200'], maxPages: 2, maxItems: null });
      await waitForRuns(t.app.database.db, runs.map((run) => run.id));
      await waitForQueueIdle(queue);
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(sample(text, 'ha_pages_fetched_total')).toBe(2);
      expect(await worker.stop('SIGTERM')).toBe(143);
    } finally {
      await queue.close();
    }
  });
});
