import { hashText } from './hash.js';

/** Hashtag names as TikTok accepts them: letters, digits and underscore, without the '#'. */
const HASHTAG_NAME = /^[\p{L}\p{N}_]{1,100}$/u;

export function isValidHashtagName(name: string): boolean {
  return HASHTAG_NAME.test(name);
}

/** Names the detail endpoint reports as not found, so tests can exercise that path by name. */
const OWN_TITLE = /^tag(\d{1,25})$/;

export function isUnknownHashtagName(name: string): boolean {
  return name.toLowerCase().startsWith('unknown');
}

/**
 * Deterministic id for a name, case-insensitive as TikTok's lookup is. 16 digits like real
 * challenge ids, some of them above 2^53.
 */
export function hashtagIdForName(name: string): string {
  const lower = name.toLowerCase();
  // The title the catalogue's items give their own hashtag (see catalogue.ts), so a hashtag
  // crawled by id can be looked up under the name its items carry.
  const own = OWN_TITLE.exec(lower);
  if (own) return own[1]!;
  const high = hashText(lower) % 9_000_000;
  const low = hashText(lower, 0x9e3779b9) % 1_000_000_000;
  return `${1_000_000 + high}${String(low).padStart(9, '0')}`;
}
