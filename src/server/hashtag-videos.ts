import { and, asc, eq, getTableColumns, gt } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { hashtagVideos, videos } from '../db/schema.js';

// The typed columns; `raw` (~16 KB an item) stays out of a listing, `export --format jsonl` has it.
const { raw: _raw, ...listedColumns } = getTableColumns(videos);

export type ListedVideo = Omit<typeof videos.$inferSelect, 'raw'>;

export interface VideoPage {
  items: ListedVideo[];
  /** Pass as `after` for the next page; null when this page is the last. */
  nextAfter: string | null;
}

/**
 * Keyset pagination in video id order (text order: the primary key of hashtag_videos, walked
 * without sorting), so a page costs the same however deep it is.
 */
export async function hashtagVideosPage(db: Db, hashtagId: string, page: { limit: number; after: string | undefined }): Promise<VideoPage> {
  const items = await db
    .select(listedColumns)
    .from(hashtagVideos)
    .innerJoin(videos, eq(videos.id, hashtagVideos.videoId))
    .where(and(eq(hashtagVideos.hashtagId, hashtagId), page.after === undefined ? undefined : gt(hashtagVideos.videoId, page.after)))
    .orderBy(asc(hashtagVideos.videoId))
    .limit(page.limit);
  return { items, nextAfter: items.length === page.limit ? items.at(-1)!.id : null };
}
