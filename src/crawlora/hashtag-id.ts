import { InvalidInputError } from './errors.js';

/** TikTok's challenge ids: digits only, up to 25 of them (some exceed 2^53, so they stay strings). */
export const HASHTAG_ID_PATTERN = /^\d{1,25}$/;

/** Crawlora's posts endpoint takes the numeric id of a hashtag, never its name. */
export function parseHashtagId(input: string): string {
  const trimmed = input.trim();
  if (trimmed === '') throw new InvalidInputError('hashtag id is empty; pass the numeric id of a hashtag, e.g. 3242');
  if (!HASHTAG_ID_PATTERN.test(trimmed)) {
    throw new InvalidInputError(`hashtag id '${trimmed}' is not a number; pass the numeric id of the hashtag, e.g. 3242`);
  }
  return trimmed;
}
