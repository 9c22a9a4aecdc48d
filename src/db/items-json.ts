import type { RawItem } from '../crawlora/schema.js';
import { sanitizeForPostgres } from './video-row.js';

/** A `\u0000` escape: one preceded by an even run of backslashes (escaped backslashes), or none. */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;
/** Any escaped UTF-16 surrogate, paired or not: jsonb refuses the unpaired ones. */
const SURROGATE_ESCAPE = /(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F]/;

/**
 * The page's items as JSON text Postgres accepts, under `data.itemList`, for `videos.raw`.
 *
 * Usually that is the answer's own text minus its `\u0000` escapes: Postgres then parses it once
 * and Node re-serialises nothing (re-encoding ~0.5 MB a page was a third of the crawler's CPU).
 * An answer with escaped surrogates, which jsonb would refuse when unpaired, is rebuilt from
 * the parsed items, cleaned as sanitizeForPostgres cleans them; both ways store the same items.
 */
export function itemsJsonForPostgres(body: string, items: readonly RawItem[]): string {
  if (!SURROGATE_ESCAPE.test(body)) return body.includes('\\u0000') ? body.replace(NUL_ESCAPE, '$1') : body;
  return JSON.stringify({ data: { itemList: items.map(sanitizeForPostgres) } });
}
