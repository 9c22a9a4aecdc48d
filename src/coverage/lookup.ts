import type { RedisConnection } from '../queue/connection.js';
import { parseHashtagName } from '../crawlora/hashtag-ref.js';
import type { RawItem } from '../crawlora/schema.js';
import type { Db } from '../db/client.js';
import { findHashtagsById } from '../db/hashtags.js';
import type { HashtagResolver } from '../hashtags/resolver.js';
import type { Logger } from '../logger.js';

/** A hashtag's reported count is looked up at most this often: it costs a request, like a page. */
export const LOOKUP_EVERY_MS = 24 * 3600 * 1000;

/**
 * Coverage needs the count a hashtag reports, which only the detail endpoint gives, by name. A
 * hashtag crawled by id learns its name from its own items, and is looked up after its run's
 * first page — through the resolver, so paced by the limiter, within the credit caps, in the ledger.
 */
export interface CoverageLookup {
  /** Never throws: a failed lookup leaves the count unknown (and is tried again a day later). */
  afterFirstPage(hashtagId: string, items: readonly RawItem[]): Promise<void>;
}

export interface CoverageLookupDeps {
  db: Db;
  redis: RedisConnection;
  prefix: string;
  resolver: HashtagResolver;
  clock: () => Date;
  logger: Logger;
}

export function createCoverageLookup(deps: CoverageLookupDeps): CoverageLookup {
  return {
    async afterFirstPage(hashtagId, items) {
      try {
        const [cached] = await findHashtagsById(deps.db, [hashtagId]);
        if (cached && !lookupDue(cached.resolvedAt, deps.clock())) return;
        const name = cached?.name ?? nameFromItems(hashtagId, items);
        if (name === null) return;
        // Across workers and runs, whatever the outcome: a lookup that failed is not bought again within the day.
        const claimed = await deps.redis.set(`${deps.prefix}:coverage-lookup:${hashtagId}`, '1', 'PX', LOOKUP_EVERY_MS, 'NX');
        if (claimed === null) return;
        await deps.resolver.resolve([name], { refresh: true });
      } catch (err) {
        deps.logger.warn({ err, hashtagId }, "looking up the hashtag's reported video count failed; coverage stays unknown for now");
      }
    },
  };
}

/** Whether a count looked up at `resolvedAt` is old enough to ask again. */
export function lookupDue(resolvedAt: Date, now: Date): boolean {
  return now.getTime() - resolvedAt.getTime() >= LOOKUP_EVERY_MS;
}

/**
 * The hashtag's name as its items' `challenges` (id → title) give it, normalized as names are
 * stored; null when no item names it or the title is not a hashtag name (TikTok text is hostile).
 */
export function nameFromItems(hashtagId: string, items: readonly RawItem[]): string | null {
  for (const item of items) {
    const challenges = item.challenges;
    if (!Array.isArray(challenges)) continue;
    for (const challenge of challenges) {
      const { id, title } = (challenge ?? {}) as { id?: unknown; title?: unknown };
      if (id !== hashtagId || typeof title !== 'string') continue;
      try {
        return parseHashtagName(title);
      } catch {
        return null;
      }
    }
  }
  return null;
}
