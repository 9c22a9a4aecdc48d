import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { App } from '../app.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import { RESPONSE_OUTCOMES } from '../queue/activity.js';
import type { PipelineObserver } from '../queue/observer.js';
import { readKeyRates } from '../queue/key-rates.js';
import type { PagesQueue } from '../queue/pages-queue.js';

/**
 * Counters of what this process's workers did, fed by the page job's observer hooks. They live
 * in the process that runs the workers, so `worker --metrics-port` serves them; `serve` runs no
 * worker and serves only what it can compute at scrape time (queue depth).
 */
export interface PipelineMetrics {
  observer: PipelineObserver;
  registry: Registry;
}

export function createPipelineMetrics(): PipelineMetrics {
  const registry = new Registry();
  const registers = [registry];
  const pages = new Counter({ name: 'ha_pages_fetched_total', help: 'Hashtag pages fetched and committed', registers });
  const items = new Counter({ name: 'ha_items_upserted_total', help: 'Videos upserted from committed pages', registers });
  const newItems = new Counter({ name: 'ha_new_items_total', help: 'Videos new to their hashtag', registers });
  const responses = new Counter({ name: 'ha_responses_total', help: 'Crawlora page responses by outcome', labelNames: ['outcome'], registers });
  const credits = new Counter({ name: 'ha_credits_charged_total', help: 'Credits Crawlora charged for page requests', registers });
  const fetchSeconds = new Histogram({
    name: 'ha_page_fetch_seconds',
    help: 'Time of a Crawlora page request, by outcome',
    labelNames: ['outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const commitSeconds = new Histogram({
    name: 'ha_page_commit_seconds',
    help: 'Time to commit a fetched page to Postgres',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers,
  });
  // Every outcome shows from the start, at 0, so rate() and alerts work before the first 429.
  for (const outcome of RESPONSE_OUTCOMES) responses.inc({ outcome }, 0);

  return {
    registry,
    observer: {
      response({ outcome, latencyMs, charged }) {
        responses.inc({ outcome });
        fetchSeconds.observe({ outcome }, latencyMs / 1000);
        if (charged) credits.inc(CREDITS_PER_REQUEST);
      },
      pageCommitted(event) {
        pages.inc();
        items.inc(event.items);
        newItems.inc(event.newItems);
        commitSeconds.observe(event.commitMs / 1000);
      },
    },
  };
}

const QUEUE_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'waiting-children', 'paused', 'completed', 'failed'] as const;

/** Queue depth is shared state in Redis, so any process can report it: read when scraped. */
function queueRegistry(queue: PagesQueue): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'ha_queue_jobs',
    help: 'Page jobs in the queue by state (completed and failed are the bounded history BullMQ keeps)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await queue.getJobCounts(...QUEUE_STATES);
      for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  return registry;
}

/** Each key's pace is shared state in Redis too: its effective rate beside the plan's, read when scraped. */
function paceRegistry(app: App, withWorker: boolean): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'ha_key_rate_per_min',
    help: "Requests per minute per API key: the plan's, and the effective one (lower after 429s, climbing back)",
    labelNames: ['key', 'rate'],
    registers: [registry],
    async collect() {
      const rates = await readKeyRates(app.redis, app.config.queuePrefix, app.config.apiKeys, (await app.settings.refresh()).ratePerMin);
      for (const rate of rates) {
        this.set({ key: rate.keyFingerprint, rate: 'plan' }, rate.planRatePerMin);
        this.set({ key: rate.keyFingerprint, rate: 'effective' }, rate.effectiveRatePerMin);
      }
    },
  });
  if (withWorker) {
    new Gauge({
      name: 'ha_pages_in_flight_target',
      help: "Pages this process's workers keep in flight: the pool's rate times the measured time a page takes, plus the tail",
      registers: [registry],
      collect() {
        this.set(app.inFlightTarget());
      },
    });
  }
  return registry;
}

/** GET /metrics in the Prometheus text format: queue depth and pace, plus the pipeline counters when this process runs workers. */
export function metricsRoute(pipeline: PipelineMetrics | null) {
  return (server: FastifyInstance, app: App): void => {
    const registry = Registry.merge([queueRegistry(app.queue), paceRegistry(app, pipeline !== null), ...(pipeline ? [pipeline.registry] : [])]);
    server.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  };
}
