import { InvalidInputError } from '../crawlora/errors.js';
import type { HashtagRef } from '../crawlora/hashtag-ref.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import type { Db } from '../db/client.js';
import { findHashtagsByName } from '../db/hashtags.js';

/**
 * Ids for hashtags given either way, from the cache alone: for commands that only read the
 * archive (export, stats, the dashboard), which should never spend credits. A name not cached
 * was never crawled by name, so there is nothing of it to read yet.
 */
export async function cachedHashtagIds(db: Db, refs: HashtagRef[]): Promise<string[]> {
  const names = refs.flatMap((ref) => (ref.kind === 'name' ? [ref.name] : []));
  const byName = new Map((await findHashtagsByName(db, names)).map((row) => [row.name, row.id]));
  const unknown = [...new Set(names.filter((name) => !byName.has(name)))];
  if (unknown.length > 0) {
    const list = unknown.map((name) => `#${name}`).join(', ');
    throw new InvalidInputError(
      `${list}: not resolved yet, so not in the archive; crawl by name or run 'hashtag-archiver resolve ${unknown.join(' ')}' (${CREDITS_PER_REQUEST} credits a name)`,
    );
  }
  return [...new Set(refs.map((ref) => (ref.kind === 'id' ? ref.id : byName.get(ref.name)!)))];
}
