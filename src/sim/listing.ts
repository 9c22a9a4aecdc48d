import { hashText, mix32 } from './hash.js';
import type { SimHashtagOptions } from './options.js';

/**
 * What a hashtag's feed lists, as catalogue indices in feed order. TikTok's feed is not the
 * hashtag: it can end far below the reported count (`feedEndsAt`), drop videos taken down
 * (`takenDown`), and list a different part of the catalogue on each pass (`passFraction`).
 */
export interface Listing {
  length: number;
  /** The catalogue index at a feed position in 0..length-1. */
  at(position: number): number;
}

/** Whether the feed lists anything but the whole catalogue in order (so a pass number matters). */
export function isPerPass(hashtag: SimHashtagOptions): boolean {
  return hashtag.passFraction !== undefined;
}

/**
 * The listing of one pass. Each item is in a pass with probability passFraction, drawn
 * independently per (seed, hashtag, pass, item), so a seeded simulator serves the same passes
 * every time while passes differ from each other.
 */
export function feedListing(hashtagId: string, size: number, hashtag: SimHashtagOptions, pass: number, seed: number): Listing {
  const end = Math.min(size, hashtag.feedEndsAt ?? size);
  const takenDown = new Set(hashtag.takenDown ?? []);
  if (takenDown.size === 0 && hashtag.passFraction === undefined) return { length: end, at: (position) => position };
  const passSeed = mix32(hashText(hashtagId, seed >>> 0) ^ mix32(pass));
  const threshold = (hashtag.passFraction ?? 1) * 2 ** 32;
  const indices: number[] = [];
  for (let index = 0; index < end; index++) {
    if (takenDown.has(index)) continue;
    if (hashtag.passFraction !== undefined && mix32(passSeed ^ mix32(index + 1)) >= threshold) continue;
    indices.push(index);
  }
  return { length: indices.length, at: (position) => indices[position]! };
}

/** 1-based "every nth item", as the catalogue's quirks count. */
export function isFatal(index: number, hashtag: SimHashtagOptions): boolean {
  return hashtag.fatalEvery !== undefined && (index + 1) % hashtag.fatalEvery === 0;
}
