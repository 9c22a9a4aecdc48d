import { InvalidInputError } from './errors.js';
import { HASHTAG_ID_PATTERN } from './hashtag-id.js';

/**
 * How people name a hashtag: by TikTok's numeric id, or by its name. Every place that accepts a
 * hashtag (CLI arguments, hashtag files, the dashboard API) parses it here, so they all agree.
 */
export type HashtagRef = { kind: 'id'; id: string } | { kind: 'name'; name: string };

/**
 * TikTok's hashtag names: letters (any script, with their combining marks, which Devanagari or Thai
 * names cannot do without), digits and underscore. Anything else (spaces, punctuation, emoji)
 * cannot be a hashtag, so it is refused before a credit is spent on asking.
 */
const NAME_PATTERN = /^[\p{L}\p{M}\p{N}_]+$/u;
const MAX_NAME_CHARS = 100;
const EXAMPLES = '3242, christmas or #christmas';

/**
 * Digits are an id; anything else is a name, with or without '#', compared case-insensitively.
 * A name made only of digits (#2024) needs its '#' to be read as a name.
 */
export function parseHashtagRef(input: string): HashtagRef {
  const trimmed = input.trim();
  if (HASHTAG_ID_PATTERN.test(trimmed)) return { kind: 'id', id: trimmed };
  return { kind: 'name', name: parseHashtagName(trimmed) };
}

/** A name as it is stored and sent to Crawlora: NFC, lower case, without '#'. */
export function parseHashtagName(input: string): string {
  const trimmed = input.trim();
  const name = trimmed.replace(/^#/, '').normalize('NFC').toLowerCase();
  if (name === '') throw new InvalidInputError(`hashtag is empty; give a numeric id or a name, e.g. ${EXAMPLES}`);
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidInputError(
      `hashtag '${trimmed.slice(0, 60)}' is neither a numeric id nor a name (names are letters, digits and underscores, without spaces or punctuation); give one such as ${EXAMPLES}`,
    );
  }
  if ([...name].length > MAX_NAME_CHARS) {
    throw new InvalidInputError(`hashtag name '${name.slice(0, 20)}…' is longer than ${MAX_NAME_CHARS} characters; check it`);
  }
  return name;
}

/** For hashtag files, which report every bad line at once rather than stopping at the first. */
export function isHashtagRef(input: string): boolean {
  try {
    parseHashtagRef(input);
    return true;
  } catch {
    return false;
  }
}

/** How a hashtag is shown back to the person who gave it. */
export function hashtagRefLabel(ref: HashtagRef): string {
  return ref.kind === 'id' ? ref.id : `#${ref.name}`;
}
