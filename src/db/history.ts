import { eq } from 'drizzle-orm';
import { InvalidInputError } from '../crawlora/errors.js';
import type { Db } from './client.js';
import { videos, videoSnapshots } from './schema.js';

/** A video's counts as one crawl saw them; null where upstream left a count out. */
export interface StatsSnapshot {
  capturedAt: Date;
  /** Null once the run that took it was deleted. */
  runId: number | null;
  plays: number | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  saves: number | null;
}

/** Oldest first. An id the archive never saw is most likely a typo, so it is an error rather than an empty series. */
export async function videoHistory(db: Db, videoId: string): Promise<StatsSnapshot[]> {
  const snapshots = await db
    .select({
      capturedAt: videoSnapshots.capturedAt,
      runId: videoSnapshots.runId,
      plays: videoSnapshots.playCount,
      likes: videoSnapshots.diggCount,
      comments: videoSnapshots.commentCount,
      shares: videoSnapshots.shareCount,
      saves: videoSnapshots.collectCount,
    })
    .from(videoSnapshots)
    .where(eq(videoSnapshots.videoId, videoId))
    .orderBy(videoSnapshots.capturedAt, videoSnapshots.id);
  if (snapshots.length > 0) return snapshots;
  const [known] = await db.select({ id: videos.id }).from(videos).where(eq(videos.id, videoId)).limit(1);
  if (!known) {
    throw new InvalidInputError(`video ${videoId} is not in the archive; give the id of an archived video (see 'hashtag-archiver stats <hashtagId>')`);
  }
  return snapshots;
}
