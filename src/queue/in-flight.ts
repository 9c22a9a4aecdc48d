import type { RedisConnection } from './connection.js';
import type { Logger } from '../logger.js';
import type { PipelineObserver } from './observer.js';
import { defineScript } from './redis-script.js';
import { BEAT_EVERY_MS, liveWorkersKey, WORKER_SILENT_MS } from './worker-liveness.js';

/**
 * How many pages a worker keeps in flight. The pacer in Redis holds the rate; this only has to
 * keep enough requests ready that every slot the pacer hands out is used. By Little's law, a
 * pipeline serving λ requests a second that each take W seconds holds λ·W of them on average;
 * since the number busy at once varies about that mean like a Poisson count, three standard
 * deviations (3·√(λW)) cover the tail, plus a margin for the latency estimate being behind.
 */
export interface InFlightInput {
  /** The key pool's rate: the sum of its keys' effective rates. */
  ratePerMin: number;
  /** The mean time a page holds a worker's slot: the request, then its commit. */
  pageMs: number;
  /** Workers sharing the key pool (each sizes for its share). */
  workers: number;
  /** HA_CONCURRENCY / --concurrency: memory is bounded by this. */
  maxInFlight: number;
}

/** The estimate of the mean time per page is taken this much longer than measured. */
const ESTIMATE_MARGIN = 1.2;
/** Slots beyond the tail: a job waiting for its reserved moment, one starting. */
const SPARE = 2;

export function inFlightTarget({ ratePerMin, pageMs, workers, maxInFlight }: InFlightInput): number {
  const busy = (ratePerMin / 60_000) * pageMs * ESTIMATE_MARGIN;
  const total = busy + 3 * Math.sqrt(busy);
  return Math.max(1, Math.min(maxInFlight, Math.ceil(total / Math.max(1, workers)) + SPARE));
}

/**
 * The mean time per page, measured as pages go: an exponentially weighted mean of request
 * latencies plus one of commit times. Starts from a prior so a fresh worker has a guess.
 */
export interface PageTimeMeter {
  observer: PipelineObserver;
  meanPageMs(): number;
}

/** Weight of a new sample: about the last 20 pages count. */
const WEIGHT = 0.05;
/** Before the first answer: a rendering API's second or so. */
const PRIOR_LATENCY_MS = 1_000;

export function meterPageTime(inner: PipelineObserver): PageTimeMeter {
  let latencyMs = PRIOR_LATENCY_MS;
  let commitMs = 0;
  return {
    meanPageMs: () => latencyMs + commitMs,
    observer: {
      response(event) {
        latencyMs += WEIGHT * (event.latencyMs - latencyMs);
        inner.response(event);
      },
      pageCommitted(event) {
        commitMs += WEIGHT * (event.commitMs - commitMs);
        inner.pageCommitted(event);
      },
    },
  };
}

/**
 * Workers alive under a prefix (worker-liveness.ts): each beats into a sorted set scored by
 * Redis's clock; a worker that stops beating drops out after `ttlMs`. Replies the live count, and
 * whether this worker was missing from the set (Redis lost its data, or the worker stalled long
 * enough to be taken for dead).
 */
const BEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = redis.call('ZSCORE', KEYS[1], ARGV[1])
local missing = (not last) or tonumber(last) < now - tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return { redis.call('ZCARD', KEYS[1]), missing and 1 or 0 }
`;

export interface InFlightSizerOptions {
  redis: RedisConnection;
  keyPrefix: string;
  /** This worker's id in the live set. */
  workerId: string;
  meter: PageTimeMeter;
  /** The key pool's rate now (effective rates, so a cut after 429s shrinks the pipeline too). */
  poolRatePerMin: () => Promise<number>;
  maxInFlight: number;
  /** Where the target goes: BullMQ's worker.concurrency, which it reads before each fetch. */
  apply: (inFlight: number) => void;
  logger: Logger;
  /**
   * Called when a beat after the first finds this worker missing from the live set: what the
   * worker keeps in Redis for its pages in flight (their claims) must be written again.
   */
  onRejoin?: () => void;
}

export interface InFlightSizer {
  /** The last target applied. */
  current(): number;
  close(): void;
}

/** Re-sizes a worker every beat from the measured time per page and the pool's rate. */
export function startInFlightSizer(options: InFlightSizerOptions): InFlightSizer {
  const { redis, keyPrefix, workerId, meter, maxInFlight, apply, logger } = options;
  const beat = defineScript(redis, 'haWorkerBeat', 1, BEAT_SCRIPT);
  const liveKey = liveWorkersKey(keyPrefix);
  let current = 0;
  let closed = false;
  let beaten = false;
  const resize = async () => {
    const [[workers, missing], ratePerMin] = await Promise.all([beat(liveKey, workerId, WORKER_SILENT_MS) as Promise<[number, number]>, options.poolRatePerMin()]);
    if (missing === 1 && beaten) options.onRejoin?.();
    beaten = true;
    if (closed) return;
    const target = inFlightTarget({ ratePerMin, pageMs: meter.meanPageMs(), workers, maxInFlight });
    if (target === current) return;
    logger.debug({ inFlight: target, was: current, pageMs: Math.round(meter.meanPageMs()), ratePerMin, workers }, 'pages in flight resized');
    current = target;
    apply(target);
  };
  const tick = () => void resize().catch((err: unknown) => logger.warn({ err }, 'pages in flight not resized'));
  tick();
  const timer = setInterval(tick, BEAT_EVERY_MS);
  timer.unref();
  return {
    current: () => current,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
