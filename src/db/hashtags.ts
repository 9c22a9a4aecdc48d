import { and, eq, inArray, ne, sql } from 'drizzle-orm';
import type { HashtagDetail } from '../crawlora/detail.js';
import type { Db } from './client.js';
import { hashtags, type Hashtag } from './schema.js';
import { sanitizeForPostgres } from './video-row.js';

type Executor = Pick<Db, 'insert' | 'delete'>;

/** The cached hashtags among these names (lower case, without '#'). */
export async function findHashtagsByName(db: Db, names: string[]): Promise<Hashtag[]> {
  if (names.length === 0) return [];
  return db.select().from(hashtags).where(inArray(hashtags.name, names));
}

/** The cached hashtags among these ids: a hashtag crawled by id may have been resolved by name before. */
export async function findHashtagsById(db: Db, ids: string[]): Promise<Hashtag[]> {
  if (ids.length === 0) return [];
  return db.select().from(hashtags).where(inArray(hashtags.id, ids));
}

/**
 * Caches what the detail endpoint said about a name, replacing an earlier answer. Inside the
 * caller's transaction when given one, so the cache and the ledger charge are written together.
 */
export async function saveHashtag(db: Executor, name: string, detail: HashtagDetail): Promise<Hashtag> {
  // Both the id and the name are unique. A refreshed name now pointing at another id gives up its
  // old row; an id reached under a second name moves to the latest one.
  await db.delete(hashtags).where(and(eq(hashtags.name, name), ne(hashtags.id, detail.id)));
  const values = {
    name,
    title: detail.title,
    detail: sanitizeForPostgres(detail.payload),
    videoCount: detail.videoCount,
    viewCount: detail.viewCount,
    resolvedAt: sql`now()`,
  };
  const [row] = await db
    .insert(hashtags)
    .values({ id: detail.id, ...values })
    .onConflictDoUpdate({ target: hashtags.id, set: values })
    .returning();
  return row!;
}
