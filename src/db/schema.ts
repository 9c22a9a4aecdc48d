import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
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
    /** Bumped by every resume: jobs of an older generation are stale and do nothing. */
    generation: integer('generation').notNull().default(1),
    stopReason: text('stop_reason'),
    lastError: text('last_error'),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    check('crawl_runs_status_check', sql`${t.status} in ('queued','running','paused','completed','failed','cancelled')`),
    index('crawl_runs_hashtag_idx').on(t.hashtagId, t.createdAt),
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
    /** null: the run stopped after this page (see crawl_runs.stop_reason). */
    nextCursor: text('next_cursor'),
    hasMore: boolean('has_more').notNull(),
    itemCount: integer('item_count').notNull(),
    newItems: integer('new_items').notNull().default(0),
    /** Consecutive pages without items ending here; guards against a hasMore that never turns false. */
    emptyStreak: integer('empty_streak').notNull().default(0),
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
  },
  (t) => [primaryKey({ columns: [t.hashtagId, t.videoId] }), index('hashtag_videos_video_idx').on(t.videoId)],
);

export type CrawlRun = typeof crawlRuns.$inferSelect;
export type CrawlPage = typeof crawlPages.$inferSelect;
