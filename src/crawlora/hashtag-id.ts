import { InvalidInputError } from './errors.js';

/** Crawlora's posts endpoint takes the numeric id of a hashtag, never its name. */
export function parseHashtagId(input: string): string {
  const trimmed = input.trim();
  if (trimmed === '') throw new InvalidInputError('hashtag id is empty; pass the numeric id of a hashtag, e.g. 3242');
  if (!/^\d{1,25}$/.test(trimmed)) {
    throw new InvalidInputError(`hashtag id '${trimmed}' is not a number; pass the numeric id of the hashtag, e.g. 3242`);
  }
  return trimmed;
}
