import { sql } from 'drizzle-orm';
import type { Db } from '../../src/db/client.js';
import { hashtags, hashtagVideos, videos } from '../../src/db/schema.js';

/**
 * Videos with known hashtags, inserted directly: archived under some hashtags, carrying others
 * in `challenges`, or (no challenges) in the caption's `textExtra`, names in mixed case. A fixed
 * pseudo-random draw, so every run sees the same archive.
 */
export const TAGS = [
  { name: 'christmas', id: '930001' },
  { name: 'fyp', id: '930002' },
  { name: 'foryou', id: '930003' },
  { name: 'ad', id: '930004' },
  { name: 'xmas', id: '930005' },
  { name: 'snow', id: '930006' },
] as const;

/** Crawled hashtags: videos are archived under these. */
export const ARCHIVED = ['930001', '930002', '930006'] as const;
/** Names the `hashtags` cache knows (resolved): `ad`, `xmas` and `snow` are known only from items. */
export const CACHED = ['christmas', 'fyp', 'foryou'] as const;

export const TAGGED_VIDEOS = 90;

export function taggedVideoId(index: number): string {
  return `78${String(index).padStart(17, '0')}`;
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function mixedCase(name: string, index: number): string {
  return index % 3 === 0 ? name.toUpperCase() : index % 3 === 1 ? name[0]!.toUpperCase() + name.slice(1) : name;
}

export async function insertTaggedVideos(db: Db): Promise<void> {
  const next = random(19);
  await db.insert(hashtags).values(TAGS.filter((tag) => (CACHED as readonly string[]).includes(tag.name)).map((tag) => ({ id: tag.id, name: tag.name })));
  for (let index = 0; index < TAGGED_VIDEOS; index++) {
    const id = taggedVideoId(index);
    const carried = TAGS.filter(() => next() < 0.4);
    const archivedUnder = ARCHIVED.filter(() => next() < 0.5);
    if (archivedUnder.length === 0) archivedUnder.push(ARCHIVED[index % ARCHIVED.length]!);
    const challenges = carried.map((tag, n) => ({ id: tag.id, title: mixedCase(tag.name, index + n), desc: '' }));
    const textExtra = carried.map((tag, n) => ({ hashtagId: n % 2 === 0 ? tag.id : '', hashtagName: mixedCase(tag.name, index + n), type: 1 }));
    // Every 4th item has no challenges (textExtra only), every 9th an empty list; the rest both.
    const raw: Record<string, unknown> = { id, desc: carried.map((tag) => `#${tag.name}`).join(' '), textExtra };
    if (index % 4 !== 0) raw.challenges = index % 9 === 0 ? [] : challenges;
    await db.insert(videos).values({ id, description: String(raw.desc), raw });
    await db.insert(hashtagVideos).values(archivedUnder.map((hashtagId) => ({ hashtagId, videoId: id })));
  }
}

/**
 * The videos that have one hashtag, by plain SQL written apart from the product's: archived under
 * its id (when known), or carrying its id or name (any case) in challenges, or, for items without
 * challenges, its name in textExtra.
 */
export function hasTagSql(tag: { id: string | null; name: string | null }): ReturnType<typeof sql> {
  // Never equal to an id or name of the fixture: a part of the hashtag that is not known.
  const id = tag.id ?? '-';
  const name = tag.name ?? '-';
  return sql`(
    select video_id as id from hashtag_videos where hashtag_id = ${id}
    union
    select v.id from videos v, jsonb_path_query(v.raw, '$.challenges[*]') c
    where c->>'id' = ${id} or lower(c->>'title') = ${name}
    union
    select v.id from videos v, jsonb_path_query(v.raw, '$.textExtra[*]') e
    where not jsonb_path_exists(v.raw, '$.challenges[*]') and (lower(e->>'hashtagName') = ${name} or e->>'hashtagId' = ${id})
  )`;
}

/** The hashtags each video carries, by the same rules, as (video, tag name) pairs. */
export const CARRIED_PAIRS_SQL = sql`
  select distinct v.id as video, lower(c->>'title') as tag from videos v, jsonb_path_query(v.raw, '$.challenges[*]') c
  union
  select distinct v.id, lower(n #>> '{}') from videos v, jsonb_path_query(v.raw, '$.textExtra[*].hashtagName') n
  where not jsonb_path_exists(v.raw, '$.challenges[*]')`;
