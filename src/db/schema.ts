import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

/** Table and column names here are a contract: other tools query them. */

export const RUN_STATUSES = ['queued', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** full: every page until the end. incremental: stop once pages stop bringing new videos (or reach --since). */
export const CRAWL_MODES = ['full', 'incremental'] as const;
export type CrawlMode = (typeof CRAWL_MODES)[number];

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
// Counters reach billions of plays; still far below 2^53, so numbers are exact in JS.
const counter = (name: string) => bigint(name, { mode: 'number' });

export const videos = pgTable('videos', {
  id: text('id').primaryKey(),
  authorId: text('author_id'),
  authorUniqueId: text('author_unique_id'),
  description: text('description'),
  createTime: ts('create_time'),
  playCount: counter('play_count'),
  diggCount: counter('digg_count'),
  commentCount: counter('comment_count'),
  shareCount: counter('share_count'),
  collectCount: counter('collect_count'),
  musicId: text('music_id'),
  raw: jsonb('raw').notNull(),
  firstSeenAt: ts('first_seen_at').notNull().defaultNow(),
  lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
});

export const crawlRuns = pgTable(
  'crawl_runs',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    hashtagId: text('hashtag_id').notNull(),
    status: text('status', { enum: RUN_STATUSES }).notNull().default('queued'),
    pages: integer('pages').notNull().default(0),
    items: integer('items').notNull().default(0),
    newItems: integer('new_items').notNull().default(0),
    credits: integer('credits').notNull().default(0),
    maxPages: integer('max_pages'),
    maxItems: integer('max_items'),
    mode: text('mode', { enum: CRAWL_MODES }).notNull().default('full'),
    /** Incremental runs stop at items created before this. */
    since: ts('since'),
    /** Incremental runs stop after this many pages in a row without a new video. */
    stalePagesLimit: integer('stale_pages_limit'),
    /** The run stops (completed, reason 'budget') before spending more than this. */
    budgetCredits: integer('budget_credits'),
    /** What started it: cli, schedule, api. */
    trigger: text('trigger').notNull().default('cli'),
    /** Bumped by every resume: jobs of an older generation are stale and do nothing. */
    generation: integer('generation').notNull().default(1),
    stopReason: text('stop_reason'),
    /**
     * `crawl --passes N`: the runs of one request share pass_group (the first pass's id) and are
     * numbered from 1; the next pass starts when this one completes, unless this one added fewer
     * than min_new_ratio × the videos archived before it.
     */
    passGroup: integer('pass_group'),
    passNumber: integer('pass_number'),
    passes: integer('passes'),
    minNewRatio: doublePrecision('min_new_ratio'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    check('crawl_runs_status_check', sql`${t.status} in ('queued','running','paused','completed','failed','cancelled')`),
    index('crawl_runs_hashtag_idx').on(t.hashtagId, t.createdAt),
    index('crawl_runs_pass_group_idx').on(t.passGroup).where(sql`${t.passGroup} is not null`),
  ],
);

export const crawlPages = pgTable(
  'crawl_pages',
  {
    runId: integer('run_id')
      .notNull()
      .references(() => crawlRuns.id, { onDelete: 'cascade' }),
    pageNumber: integer('page_number').notNull(),
    cursor: text('cursor').notNull(),
    /** null: the run stopped after this page (see stop_reason). */
    nextCursor: text('next_cursor'),
    /**
     * Why the run stopped after this page; null when it went on. Kept with the page because a run
     * completes only once every page up to this one is committed, which may be after this one.
     */
    stopReason: text('stop_reason'),
    hasMore: boolean('has_more').notNull(),
    itemCount: integer('item_count').notNull(),
    newItems: integer('new_items').notNull().default(0),
    /** Consecutive pages without items ending here; guards against a hasMore that never turns false. */
    emptyStreak: integer('empty_streak').notNull().default(0),
    /** Consecutive pages without a video new to the hashtag ending here; ends incremental runs. */
    staleStreak: integer('stale_streak').notNull().default(0),
    /** `data.extra.logid`, else `data.log_pb.impr_id`: what Crawlora's support asks for about a page. */
    logId: text('log_id'),
    /** `data.extra.fatal_item_ids` as served: items TikTok listed but failed to load, gaps rather than errors; null when absent. */
    fatalItemIds: text('fatal_item_ids').array(),
    fetchedAt: ts('fetched_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.pageNumber] })],
);

export const hashtagVideos = pgTable(
  'hashtag_videos',
  {
    hashtagId: text('hashtag_id').notNull(),
    videoId: text('video_id')
      .notNull()
      .references(() => videos.id),
    firstSeenAt: ts('first_seen_at').notNull().defaultNow(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    /** The run that found this video under this hashtag first. */
    runId: integer('run_id').references(() => crawlRuns.id, { onDelete: 'set null' }),
    lastRunId: integer('last_run_id').references(() => crawlRuns.id, { onDelete: 'set null' }),
    /** Set when a complete full crawl of the hashtag did not list this video; cleared when one lists it again. */
    missingSince: ts('missing_since'),
  },
  (t) => [
    primaryKey({ columns: [t.hashtagId, t.videoId] }),
    index('hashtag_videos_video_idx').on(t.videoId),
    index('hashtag_videos_missing_idx').on(t.hashtagId).where(sql`${t.missingSince} is not null`),
  ],
);

export type CrawlRun = typeof crawlRuns.$inferSelect;
export type CrawlPage = typeof crawlPages.$inferSelect;

/**
 * Every billed (2xx) Crawlora response, and every request that timed out and may have been billed
 * (`uncertain`): the source of `usage`, budgets and daily caps. Never holds a key, only its fingerprint.
 */
export const creditLedger = pgTable(
  'credit_ledger',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** Given when the answer arrived: whichever of the page commit or the pending-charge flush writes it first records it, once. */
    chargeId: text('charge_id').unique(),
    keyFingerprint: text('key_fingerprint').notNull(),
    endpoint: text('endpoint', { enum: ['hashtags', 'hashtag-detail'] }).notNull(),
    hashtagId: text('hashtag_id'),
    runId: integer('run_id').references(() => crawlRuns.id, { onDelete: 'set null' }),
    credits: integer('credits').notNull(),
    /** The request timed out (or was cut at shutdown): Crawlora may or may not have billed it. Counted against caps and budgets. */
    uncertain: boolean('uncertain').notNull().default(false),
    chargedAt: ts('charged_at').notNull().defaultNow(),
  },
  (t) => [index('credit_ledger_key_time_idx').on(t.keyFingerprint, t.chargedAt), index('credit_ledger_run_idx').on(t.runId)],
);

/**
 * The counts of a video each time a crawl saw it; `videos` holds only the latest. One row per
 * video per crawl, without bound: in Postgres it is range-partitioned by month on `captured_at`
 * (migration 0008, written by hand: drizzle has no partitioning DSL), so old history is dropped a
 * partition at a time (`HA_SNAPSHOT_RETENTION`, see snapshot-partitions.ts). A partitioned table
 * needs the partition column in its primary key, and on PostgreSQL before 17 it cannot have an
 * identity column, hence a serial id.
 */
export const videoSnapshots = pgTable(
  'video_snapshots',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    videoId: text('video_id')
      .notNull()
      .references(() => videos.id, { onDelete: 'cascade' }),
    runId: integer('run_id').references(() => crawlRuns.id, { onDelete: 'set null' }),
    capturedAt: ts('captured_at').notNull().defaultNow(),
    playCount: counter('play_count'),
    diggCount: counter('digg_count'),
    commentCount: counter('comment_count'),
    shareCount: counter('share_count'),
    collectCount: counter('collect_count'),
  },
  (t) => [primaryKey({ columns: [t.id, t.capturedAt] }), index('video_snapshots_video_time_idx').on(t.videoId, t.capturedAt)],
);

/** Hashtag names resolved through the detail endpoint, so a name costs credits once. */
export const hashtags = pgTable('hashtags', {
  id: text('id').primaryKey(),
  /** Lower case, without '#'. */
  name: text('name').notNull().unique(),
  title: text('title'),
  detail: jsonb('detail'),
  videoCount: counter('video_count'),
  viewCount: counter('view_count'),
  resolvedAt: ts('resolved_at').notNull().defaultNow(),
});

/** What each scheduled firing did: started a run, or skipped because the last one was still going. */
export const scheduleEvents = pgTable(
  'schedule_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    hashtagId: text('hashtag_id').notNull(),
    firedAt: ts('fired_at').notNull().defaultNow(),
    outcome: text('outcome', { enum: ['started', 'skipped'] }).notNull(),
    runId: integer('run_id').references(() => crawlRuns.id, { onDelete: 'set null' }),
    reason: text('reason'),
  },
  (t) => [index('schedule_events_hashtag_idx').on(t.hashtagId, t.firedAt)],
);

export type Hashtag = typeof hashtags.$inferSelect;

/** What a webhook can subscribe to; `ping` is only ever sent by `webhook test`. */
export const WEBHOOK_EVENTS = ['run.completed', 'run.failed', 'run.paused', 'budget.threshold', 'coverage.low'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export type WebhookMessageType = WebhookEvent | 'ping';

/**
 * Endpoints told about runs (see src/webhooks/). The signing secret is kept only sealed with a key
 * that is not in Postgres, so a dump does not hand it out.
 */
export const webhooks = pgTable('webhooks', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  url: text('url').notNull(),
  events: text('events').array().notNull(),
  /** null: every hashtag. */
  hashtagIds: text('hashtag_ids').array(),
  /** Delivered only while coverage is below this ratio (coverage.low). */
  coverageBelow: doublePrecision('coverage_below').notNull().default(0.5),
  secretSealed: text('secret_sealed').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  /** When the oldest event it failed to take since its last success happened; disabled once this is a day old. */
  failingSince: ts('failing_since'),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  lastAttemptAt: ts('last_attempt_at'),
  lastStatus: text('last_status'),
  disabledAt: ts('disabled_at'),
  disabledReason: text('disabled_reason'),
});

/**
 * The outbox: one row per event and endpoint, written by a trigger in the transaction that
 * changed the run (migrations/*_webhook_run_events.sql), moved to the `webhooks` queue by every worker's relay. Its
 * id is the `webhook-id` of every attempt, so receivers can deduplicate.
 */
export const webhookMessages = pgTable(
  'webhook_messages',
  {
    id: text('id').primaryKey(),
    webhookId: integer('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    runId: integer('run_id').references(() => crawlRuns.id, { onDelete: 'set null' }),
    /** The body's `data`, as the run was when the event happened. */
    data: jsonb('data').notNull(),
    createdAt: ts('created_at').notNull().defaultNow(),
    queuedAt: ts('queued_at'),
    attempts: integer('attempts').notNull().default(0),
    deliveredAt: ts('delivered_at'),
    gaveUpAt: ts('gave_up_at'),
  },
  (t) => [
    index('webhook_messages_unqueued_idx').on(t.createdAt).where(sql`${t.queuedAt} IS NULL`),
    index('webhook_messages_webhook_idx').on(t.webhookId, t.createdAt),
  ],
);

/** Every delivery attempt: what the endpoint answered, or why nothing came back. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    messageId: text('message_id')
      .notNull()
      .references(() => webhookMessages.id, { onDelete: 'cascade' }),
    webhookId: integer('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    status: text('status', { enum: ['succeeded', 'failed'] }).notNull(),
    responseCode: integer('response_code'),
    durationMs: integer('duration_ms').notNull(),
    error: text('error'),
    attemptedAt: ts('attempted_at').notNull().defaultNow(),
  },
  (t) => [index('webhook_deliveries_message_idx').on(t.messageId), index('webhook_deliveries_webhook_idx').on(t.webhookId, t.attemptedAt)],
);

export type Webhook = typeof webhooks.$inferSelect;
export type WebhookMessage = typeof webhookMessages.$inferSelect;
