import type { RedisConnection } from './connection.js';
import { defineScript } from './redis-script.js';
import type { Logger } from '../logger.js';
import { noopObserver, type PipelineObserver, type ResponseOutcome } from './observer.js';

// A record, so adding an outcome to the union fails the build here until it is listed.
const OUTCOMES: Record<ResponseOutcome, true> = { ok: true, 'rate-limited': true, transient: true, 'upstream-error': true, 'invalid-input': true, 'bad-key': true };
export const RESPONSE_OUTCOMES = Object.keys(OUTCOMES) as ResponseOutcome[];

/** What is counted per minute: committed pages, and upstream answers by outcome. */
export type ActivitySeries = 'pages' | ResponseOutcome;

/** Counters outlive the dashboard's hour-long chart, with margin, and then expire by themselves. */
const TTL_SECONDS = 2 * 3600;
const MINUTE_MS = 60_000;
/** One round trip, where MULTI/INCR/EXPIRE/EXEC took four commands. */
const COUNT_SCRIPT = `redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) return 1`;

export interface Activity {
  /** Start of each minute, in Unix seconds, oldest first; the last one is the current, partial minute. */
  minutes: number[];
  pages: number[];
  responses: Record<ResponseOutcome, number[]>;
}

/**
 * Wraps an observer so every page and every upstream answer also bumps a per-minute counter in
 * Redis. Counting in Redis, not in memory, lets the dashboard chart what all workers did,
 * whichever process they run in. Fire-and-forget: a failed count only loses a point of a chart.
 */
export function countActivity(redis: RedisConnection, prefix: string, logger: Logger, inner: PipelineObserver = noopObserver): PipelineObserver {
  const count = defineScript(redis, 'haActivityCount', 1, COUNT_SCRIPT);
  const bump = (series: ActivitySeries) => {
    count(activityKey(prefix, series, minuteOf(Date.now())), TTL_SECONDS).catch((err: unknown) =>
      logger.warn({ err, series }, 'activity counter not updated'),
    );
  };
  return {
    response(event) {
      bump(event.outcome);
      inner.response(event);
    },
    pageCommitted(event) {
      bump('pages');
      inner.pageCommitted(event);
    },
  };
}

/** The last `minutes` minutes of activity, zeros where nothing happened. */
export async function readActivity(redis: RedisConnection, prefix: string, minutes: number, nowMs = Date.now()): Promise<Activity> {
  const current = minuteOf(nowMs);
  const range = Array.from({ length: minutes }, (_, index) => current - minutes + 1 + index);
  const series: ActivitySeries[] = ['pages', ...RESPONSE_OUTCOMES];
  const values = await redis.mget(series.flatMap((name) => range.map((minute) => activityKey(prefix, name, minute))));
  const column = (index: number) => range.map((_, offset) => Number(values[index * range.length + offset] ?? 0));
  return {
    minutes: range.map((minute) => (minute * MINUTE_MS) / 1000),
    pages: column(0),
    responses: Object.fromEntries(RESPONSE_OUTCOMES.map((outcome, index) => [outcome, column(index + 1)])) as Record<ResponseOutcome, number[]>,
  };
}

function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** Under the queue's prefix (and so its hash tag), like every other key of the program. */
function activityKey(prefix: string, series: ActivitySeries, minute: number): string {
  return `${prefix}:activity:${series}:${minute}`;
}
