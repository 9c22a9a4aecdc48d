/**
 * The codebook: every column a research export or data package can hold, with its type and
 * what it means. The Parquet schema, the CSV header and the package's `schema.fields` are all
 * made from these, so a column is described once.
 */

/** Frictionless Table Schema types; Parquet types follow from them (see parquet.ts). */
export type FieldType = 'string' | 'integer' | 'number' | 'datetime' | 'boolean' | 'object' | 'array';

export interface Field {
  name: string;
  type: FieldType;
  description: string;
  /** Never null: part of the table's key. */
  required?: boolean;
}

const field = (name: string, type: FieldType, description: string, required = false): Field => ({ name, type, description, ...(required ? { required } : {}) });

const ID_NOTE = 'a string: TikTok ids have 19 digits, more than a double keeps';
const COUNT_NOTE = 'as upstream reported it at the last sighting; empty when it gave none';

export const FIELDS = {
  hashtagId: field('hashtag_id', 'string', `TikTok's id of the hashtag the video is archived under (${ID_NOTE})`, true),
  videoKey: field('id', 'string', `TikTok's id of the video (${ID_NOTE})`, true),
  videoRef: field('video_id', 'string', `TikTok's id of the video (${ID_NOTE})`, true),
  authorId: field('author_id', 'string', `TikTok's id of the video's author (${ID_NOTE})`),
  authorUniqueId: field('author_unique_id', 'string', "the author's handle (@name without the @) when the video was last seen"),
  description: field('description', 'string', 'the caption, NUL characters removed, as last seen'),
  createTime: field('create_time', 'datetime', 'when the video was posted (UTC), from the item\'s createTime'),
  playCount: field('play_count', 'integer', `plays, ${COUNT_NOTE}`),
  diggCount: field('digg_count', 'integer', `likes, ${COUNT_NOTE}`),
  commentCount: field('comment_count', 'integer', `comments, ${COUNT_NOTE}`),
  shareCount: field('share_count', 'integer', `shares, ${COUNT_NOTE}`),
  collectCount: field('collect_count', 'integer', `saves (collects), ${COUNT_NOTE}`),
  musicId: field('music_id', 'string', `TikTok's id of the video's sound (${ID_NOTE})`),
  raw: field('raw', 'object', 'the whole item as Crawlora served it at the last sighting, as JSON text (NUL characters removed)', true),
  firstSeenAt: field('first_seen_at', 'datetime', 'when a crawl first saw it (UTC)', true),
  lastSeenAt: field('last_seen_at', 'datetime', 'when a crawl last saw it (UTC)', true),
  runRef: field('run_id', 'integer', 'the crawl run that found the video under this hashtag first (crawl_runs.id); empty once that run was deleted'),
  lastRunRef: field('last_run_id', 'integer', 'the crawl run that saw it under this hashtag last (crawl_runs.id)'),
  missingSince: field('missing_since', 'datetime', 'since when a complete full crawl of the hashtag no longer lists the video (taken down or gone from the feed); empty while listed'),
  snapshotRun: field('run_id', 'integer', 'the crawl run of this sighting (crawl_runs.id)'),
  capturedAt: field('captured_at', 'datetime', 'when the crawl saw the video with these counts (UTC)', true),
  runKey: field('id', 'integer', 'the crawl run', true),
  runHashtag: field('hashtag_id', 'string', `TikTok's id of the hashtag crawled (${ID_NOTE})`, true),
} as const satisfies Record<string, Field>;

/** The columns of `export --format parquet`: the CSV export's, then the raw item. */
export const VIDEO_EXPORT_FIELDS: readonly Field[] = [
  FIELDS.hashtagId,
  FIELDS.videoKey,
  FIELDS.authorId,
  FIELDS.authorUniqueId,
  FIELDS.description,
  FIELDS.createTime,
  FIELDS.playCount,
  FIELDS.diggCount,
  FIELDS.commentCount,
  FIELDS.shareCount,
  FIELDS.collectCount,
  FIELDS.musicId,
  FIELDS.firstSeenAt,
  FIELDS.lastSeenAt,
  FIELDS.raw,
];
