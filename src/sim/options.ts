import { z } from 'zod';
import { MAX_CATALOGUE_SIZE } from './catalogue.js';
import type { LatencyDistribution } from './latency.js';
import { COUNTINGS, type Counting } from './rate-window.js';

export interface SimHashtagOptions {
  /** Catalogue size; defaults to SimOptions.itemsPerHashtag. */
  size?: number;
  /** Each page repeats 2 of its own items (TikTok does this; the crawler must dedupe within a batch). */
  duplicatesWithinPage?: boolean;
  /** Each page after the first also repeats the last 3 items of the previous page. */
  duplicatesAcrossPages?: boolean;
  /** hasMore is always true and the cursor stops advancing past the end: the crawler must detect the loop. */
  hasMoreForever?: boolean;
  /** Answered with statusCode 10205 "hashtag not found" (still a charged 2xx). */
  unknown?: boolean;
  /** The feed ends (hasMore false) after this many items, while the detail still reports `size`. */
  feedEndsAt?: number;
  /** Every nth catalogue item (1-based) is listed in `data.extra.fatal_item_ids` instead of served. */
  fatalEvery?: number;
  /** Catalogue indices the feed no longer lists (taken down); the detail's count is unchanged. */
  takenDown?: number[];
  /**
   * Each pass (a crawl from cursor 0) lists a different random part of the catalogue, each item
   * with this probability, seeded by `seed`; cursors then carry the pass.
   */
  passFraction?: number;
  /** Every nth item (1-based) carries its createTime in milliseconds, as some real items do. */
  createTimeMsEvery?: number;
}

export interface SimKeyLimits {
  ratePerMin: number;
  /** null = no daily cap. */
  dailyCredits: number | null;
}

export interface SimFaultRule {
  /** '403html': a WAF or CDN in front of the API refusing with an HTML page. huge: a 2xx page with a `sizeBytes` body; endless: a 2xx whose body never ends (until the client leaves). */
  kind: '500' | '429' | 'slow' | 'truncated' | 'empty' | 'status10201' | '400' | '403html' | 'huge' | 'endless';
  /** Probability 0..1 that a matching request triggers the fault; default 1. */
  rate?: number;
  /** Fire at most this many times; default unlimited. */
  times?: number;
  hashtagId?: string;
  /** Only matches posts requests with this cursor. */
  cursor?: number;
  /** For 'slow'; default 30000. */
  delayMs?: number;
  /** For 'huge'; default 50 MB. */
  sizeBytes?: number;
  /**
   * Which endpoint the rule applies to; default 'hashtags' so a detail lookup made before
   * crawling cannot consume a rule a test aimed at the posts pages.
   */
  endpoint?: 'hashtags' | 'detail' | 'any';
}

export interface SimOptions {
  /** Default 127.0.0.1; only read by startSimulator. */
  host?: string;
  /** Default 0 = random free port; only read by startSimulator. */
  port?: number;
  /** Default 300. */
  itemsPerHashtag?: number;
  /** Default 30. */
  pageSize?: number;
  /** Response time of every API request, rendering included; default 0. */
  latencyMs?: number;
  /** Lognormal response times instead of `latencyMs`; default null (the fixed `latencyMs`). */
  latency?: LatencyDistribution | null;
  /** The rate window; default 60000 (tests scale it down). */
  windowMs?: number;
  /**
   * How a key's requests are counted against its limit (`limits.ratePerMin` per `windowMs`):
   * 'sliding' (default: at most the limit in any `windowMs`), 'fixed' (windows aligned to the
   * epoch, reset at each boundary) or 'token-bucket' (`burst` tokens, refilled at the limit's rate).
   */
  counting?: Counting;
  /** Token bucket capacity: requests it admits at once after a pause; default 10. */
  burst?: number;
  /** Applied per key, `ratePerMin` requests per `windowMs` (per minute at the default window); default { ratePerMin: 1_000_000, dailyCredits: null }. */
  limits?: SimKeyLimits;
  /** Per-key override of `limits`. */
  keyLimits?: Record<string, SimKeyLimits>;
  /** Answered 401. */
  rejectKeys?: string[];
  /** Answered 403. */
  forbiddenKeys?: string[];
  /** Retry-After header on 429; default true. */
  sendRetryAfter?: boolean;
  hashtags?: Record<string, SimHashtagOptions>;
  faults?: SimFaultRule[];
  /** Seed of the fault RNG; default 1. */
  seed?: number;
  /** Default true: deterministic malformed-ish items (see catalogue.ts). */
  quirks?: boolean;
  /** Default 1; item stats grow with epoch so a re-crawl sees new counts. */
  epoch?: number;
  /** Shifts the simulator's clock for the daily-credit reset (tests). */
  dayOffsetMs?: number;
  /**
   * Bill a 2xx whose client left before the answer (timed out, shut down), as the real API
   * usually does: it finishes the request anyway. Default false.
   */
  billAbandoned?: boolean;
}

export type ResolvedSimOptions = Required<SimOptions>;

export const DEFAULT_OPTIONS: ResolvedSimOptions = {
  host: '127.0.0.1',
  port: 0,
  itemsPerHashtag: 300,
  pageSize: 30,
  latencyMs: 0,
  latency: null,
  windowMs: 60_000,
  counting: 'sliding',
  burst: 10,
  limits: { ratePerMin: 1_000_000, dailyCredits: null },
  keyLimits: {},
  rejectKeys: [],
  forbiddenKeys: [],
  sendRetryAfter: true,
  hashtags: {},
  faults: [],
  seed: 1,
  quirks: true,
  epoch: 1,
  dayOffsetMs: 0,
  billAbandoned: false,
};

const count = z.number().int().nonnegative();
const catalogueSize = count.max(MAX_CATALOGUE_SIZE);

const keyLimitsSchema = z.strictObject({
  ratePerMin: count,
  dailyCredits: count.nullable(),
});

const hashtagSchema = z.strictObject({
  size: catalogueSize.optional(),
  duplicatesWithinPage: z.boolean().optional(),
  duplicatesAcrossPages: z.boolean().optional(),
  hasMoreForever: z.boolean().optional(),
  unknown: z.boolean().optional(),
  feedEndsAt: count.optional(),
  fatalEvery: z.number().int().positive().optional(),
  takenDown: z.array(count).optional(),
  passFraction: z.number().gt(0).max(1).optional(),
  createTimeMsEvery: z.number().int().positive().optional(),
});

const faultSchema = z.strictObject({
  kind: z.enum(['500', '429', 'slow', 'truncated', 'empty', 'status10201', '400', '403html', 'huge', 'endless']),
  rate: z.number().min(0).max(1).optional(),
  times: count.optional(),
  hashtagId: z.string().optional(),
  cursor: count.optional(),
  delayMs: count.optional(),
  sizeBytes: z.number().int().positive().max(1_000_000_000).optional(),
  endpoint: z.enum(['hashtags', 'detail', 'any']).optional(),
});

/** Validates bodies of POST /__sim/config, which come from other processes. */
export const simOptionsPatchSchema: z.ZodType<Partial<SimOptions>> = z.strictObject({
  host: z.string().optional(),
  port: count.optional(),
  itemsPerHashtag: catalogueSize.optional(),
  pageSize: z.number().int().positive().optional(),
  latencyMs: count.optional(),
  latency: z
    .strictObject({ medianMs: z.number().positive(), p99Ms: z.number().positive() })
    .refine((latency) => latency.p99Ms >= latency.medianMs, 'latency.p99Ms must be at least latency.medianMs')
    .nullable()
    .optional(),
  windowMs: z.number().int().positive().optional(),
  counting: z.enum(COUNTINGS as [Counting, ...Counting[]]).optional(),
  burst: z.number().int().positive().optional(),
  limits: keyLimitsSchema.optional(),
  keyLimits: z.record(z.string(), keyLimitsSchema).optional(),
  rejectKeys: z.array(z.string()).optional(),
  forbiddenKeys: z.array(z.string()).optional(),
  sendRetryAfter: z.boolean().optional(),
  hashtags: z.record(z.string(), hashtagSchema).optional(),
  faults: z.array(faultSchema).optional(),
  seed: z.number().int().optional(),
  quirks: z.boolean().optional(),
  epoch: z.number().int().positive().optional(),
  dayOffsetMs: z.number().int().optional(),
  billAbandoned: z.boolean().optional(),
});

/**
 * Shallow merge: a patched record or array (hashtags, keyLimits, faults, ...) replaces the
 * previous one wholesale, so a test can always state the full configuration it wants.
 * Keys explicitly set to undefined are ignored rather than wiping the default.
 */
export function mergeOptions(base: ResolvedSimOptions, patch: Partial<SimOptions>): ResolvedSimOptions {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value !== undefined) merged[key] = value;
  }
  return merged as ResolvedSimOptions;
}

export function limitsForKey(options: ResolvedSimOptions, apiKey: string): SimKeyLimits {
  return options.keyLimits[apiKey] ?? options.limits;
}
