import { desc, eq, inArray, sql } from 'drizzle-orm';
import { InvalidInputError } from '../crawlora/errors.js';
import type { Coverage } from '../coverage/coverage.js';
import type { Db } from './client.js';
import { hashtagCoverage } from './coverage.js';
import { crawlRuns, hashtagVideos, RUN_STATUSES, videos, type RunStatus } from './schema.js';

export interface TopVideo {
  id: string;
  authorUniqueId: string | null;
  playCount: number | null;
  description: string | null;
}

export interface LastRun {
  id: number;
  status: RunStatus;
  items: number;
  newItems: number;
  stopReason: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface HashtagStats {
  hashtagId: string;
  videos: number;
  /** Distinct author ids; videos without one are not counted. */
  authors: number;
  /** When a crawl first found a video under this hashtag; null without videos. */
  firstSeenAt: Date | null;
  lastSeenAt: Date | null;
  totalPlays: number;
  /** Most played first; ties by video id. */
  topVideos: TopVideo[];
  runs: { total: number; byStatus: Record<RunStatus, number>; last: LastRun | null };
  coverage: Coverage;
}

export const TOP_VIDEOS = 10;

/**
 * A hashtag is in the archive once a crawl was started for it, even one that found nothing;
 * any other id is most likely a typo, which deserves an error rather than an empty answer.
 */
export async function requireArchived(db: Db, hashtagIds: string[]): Promise<void> {
  if (hashtagIds.length === 0) return;
  const known = await db.execute<{ id: string }>(sql`
    select h.id from (values ${sql.join(hashtagIds.map((id) => sql`(${id})`), sql`, `)}) as h(id)
    where exists (select 1 from ${hashtagVideos} where ${hashtagVideos.hashtagId} = h.id)
       or exists (select 1 from ${crawlRuns} where ${crawlRuns.hashtagId} = h.id)`);
  const knownIds = new Set(known.rows.map((row) => row.id));
  const missing = hashtagIds.filter((id) => !knownIds.has(id));
  if (missing.length > 0) throw new InvalidInputError(notInArchiveMessage(missing));
}

function notInArchiveMessage(hashtagIds: string[]): string {
  const list = hashtagIds.join(' ');
  return hashtagIds.length === 1
    ? `hashtag ${list} is not in the archive; crawl it first with 'hashtag-archiver crawl ${list}'`
    : `hashtags ${hashtagIds.join(', ')} are not in the archive; crawl them first with 'hashtag-archiver crawl ${list}'`;
}

export async function hashtagStats(db: Db, hashtagId: string): Promise<HashtagStats> {
  const ofHashtag = eq(hashtagVideos.hashtagId, hashtagId);
  const [summary] = await db
    .select({
      videos: sql<number>`count(*)::int`,
      authors: sql<number>`count(distinct ${videos.authorId})::int`,
      firstSeenAt: sql<Date | null>`min(${hashtagVideos.firstSeenAt})`.mapWith(hashtagVideos.firstSeenAt),
      lastSeenAt: sql<Date | null>`max(${hashtagVideos.lastSeenAt})`.mapWith(hashtagVideos.lastSeenAt),
      // sum(bigint) is numeric; a hashtag's plays stay far below 2^53.
      totalPlays: sql<number>`coalesce(sum(${videos.playCount}), 0)`.mapWith(Number),
    })
    .from(hashtagVideos)
    .innerJoin(videos, eq(videos.id, hashtagVideos.videoId))
    .where(ofHashtag);

  const topVideos = await db
    .select({ id: videos.id, authorUniqueId: videos.authorUniqueId, playCount: videos.playCount, description: videos.description })
    .from(hashtagVideos)
    .innerJoin(videos, eq(videos.id, hashtagVideos.videoId))
    .where(ofHashtag)
    .orderBy(sql`${videos.playCount} desc nulls last`, videos.id)
    .limit(TOP_VIDEOS);

  const runs = await runsSummary(db, [hashtagId]);
  return {
    hashtagId,
    videos: summary?.videos ?? 0,
    authors: summary?.authors ?? 0,
    firstSeenAt: summary?.firstSeenAt ?? null,
    lastSeenAt: summary?.lastSeenAt ?? null,
    totalPlays: summary?.totalPlays ?? 0,
    topVideos,
    runs,
    coverage: await hashtagCoverage(db, hashtagId),
  };
}

/** How many runs the hashtags had, by status, and the latest of them. */
export async function runsSummary(db: Db, hashtagIds: string[]): Promise<HashtagStats['runs']> {
  const ofHashtags = inArray(crawlRuns.hashtagId, hashtagIds);
  const counts = await db
    .select({ status: crawlRuns.status, count: sql<number>`count(*)::int` })
    .from(crawlRuns)
    .where(ofHashtags)
    .groupBy(crawlRuns.status);
  const byStatus = Object.fromEntries(RUN_STATUSES.map((status) => [status, 0])) as Record<RunStatus, number>;
  for (const { status, count } of counts) byStatus[status] = count;

  const [last] = await db
    .select({
      id: crawlRuns.id,
      status: crawlRuns.status,
      items: crawlRuns.items,
      newItems: crawlRuns.newItems,
      stopReason: crawlRuns.stopReason,
      createdAt: crawlRuns.createdAt,
      finishedAt: crawlRuns.finishedAt,
    })
    .from(crawlRuns)
    .where(ofHashtags)
    .orderBy(desc(crawlRuns.id))
    .limit(1);
  return { total: counts.reduce((sum, { count }) => sum + count, 0), byStatus, last: last ?? null };
}
