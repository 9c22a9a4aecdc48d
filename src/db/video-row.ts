import type { RawItem } from '../crawlora/schema.js';

/** The typed `videos` columns pulled out of one untrusted item, cleaned for Postgres. */
export interface VideoColumns {
  id: string;
  author_id: string | null;
  author_unique_id: string | null;
  description: string | null;
  create_time: string | null;
  play_count: number | null;
  digg_count: number | null;
  comment_count: number | null;
  share_count: number | null;
  collect_count: number | null;
  music_id: string | null;
}

/** The names of those columns in `videos`, in table order: for statements and headers that list them. */
export const VIDEO_COLUMN_NAMES = [
  'id',
  'author_id',
  'author_unique_id',
  'description',
  'create_time',
  'play_count',
  'digg_count',
  'comment_count',
  'share_count',
  'collect_count',
  'music_id',
] as const satisfies ReadonlyArray<keyof VideoColumns>;

/** The columns plus the whole item, sanitised: what a bare upsert loop sends (see bench/raw-postgres.ts). */
export interface VideoRow extends VideoColumns {
  raw: Record<string, unknown>;
}

/**
 * Keeps the last occurrence of each id: Postgres refuses an ON CONFLICT statement that
 * touches one row twice, and upstream repeats items within a page.
 */
export function dedupeById<T extends { id: string }>(items: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const item of items) {
    byId.delete(item.id);
    byId.set(item.id, item);
  }
  return [...byId.values()];
}

export function toVideoColumns(item: RawItem): VideoColumns {
  const author = record(item.author);
  const stats = record(item.stats);
  const statsV2 = record(item.statsV2);
  const count = (name: string) => toCount(stats?.[name]) ?? toCount(statsV2?.[name]);
  return {
    id: item.id,
    author_id: idString(author?.id),
    author_unique_id: text(author?.uniqueId),
    description: text(item.desc),
    create_time: createTimeOf(item),
    play_count: count('playCount'),
    digg_count: count('diggCount'),
    comment_count: count('commentCount'),
    share_count: count('shareCount'),
    collect_count: count('collectCount'),
    music_id: idString(record(item.music)?.id),
  };
}

export function toVideoRow(item: RawItem): VideoRow {
  return { ...toVideoColumns(item), raw: sanitizeForPostgres(item) as Record<string, unknown> };
}

/**
 * Postgres rejects U+0000 in text and jsonb, and unpaired surrogates (an emoji cut in half) in
 * jsonb. Both occur in real captions: drop the NULs, replace broken surrogates, never fail the page.
 */
export function sanitizeForPostgres(value: unknown): unknown {
  if (typeof value === 'string') return cleanString(value);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((element, index) => {
      const cleaned = sanitizeForPostgres(element);
      if (cleaned !== element) (out ??= value.slice())[index] = cleaned;
    });
    return out ?? value;
  }
  if (typeof value === 'object' && value !== null) {
    let out: Record<string, unknown> | undefined;
    for (const [key, element] of Object.entries(value)) {
      const cleanKey = cleanString(key);
      const cleaned = sanitizeForPostgres(element);
      if (cleanKey !== key || cleaned !== element) {
        out ??= { ...(value as Record<string, unknown>) };
        if (cleanKey !== key) delete out[key];
        out[cleanKey] = cleaned;
      }
    }
    return out ?? value;
  }
  return value;
}

function cleanString(value: string): string {
  const withoutNul = value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
  return withoutNul.isWellFormed() ? withoutNul : withoutNul.toWellFormed();
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? cleanString(value) : null;
}

/** Ids stay strings; a numeric id has already lost precision in JSON.parse, so it is not trusted either. */
function idString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? cleanString(value) : null;
}

function toCount(value: unknown): number | null {
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 0 ? number : null;
}

/**
 * When the video was posted, in ms since the epoch; null when upstream gave no usable time.
 * `createTime` comes as unix seconds, as a number or a numeric string — and on some items in
 * milliseconds (1.7e12), which read as seconds is a year-55840 timestamp Postgres refuses. So the
 * unit is read by magnitude: below 1e11 seconds, below 1e14 milliseconds (both reach the year
 * 5138, far inside what timestamptz stores); anything larger is unusable, stored as null.
 */
export function createdAtMs(item: RawItem): number | null {
  const value = toCount(item.createTime);
  if (value === null || value === 0) return null;
  if (value < SECONDS_BELOW) return value * 1000;
  return value < MILLISECONDS_BELOW ? value : null;
}

const SECONDS_BELOW = 1e11;
const MILLISECONDS_BELOW = 1e14;

/** Items whose `createTime` was given but could not be read as a time (stored as null): for the page's warning. */
export function unreadableCreateTimes(items: readonly RawItem[]): number {
  return items.filter((item) => item.createTime !== undefined && item.createTime !== null && item.createTime !== 0 && createdAtMs(item) === null).length;
}

function createTimeOf(item: RawItem): string | null {
  const ms = createdAtMs(item);
  return ms === null ? null : new Date(ms).toISOString();
}
