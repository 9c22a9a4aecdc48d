import { isUtf8 } from 'node:buffer';
import type { RawItem } from '../crawlora/schema.js';
import { sanitizeForPostgres } from './video-row.js';

/** jsonb's binary wire format is a version byte, then the JSON text. */
const JSONB_VERSION = 1;
const BACKSLASH = 0x5c;
const NUL_ESCAPE = '\\u0000';

/**
 * The page's items under `data.itemList`, for `videos.raw`, as a jsonb parameter in binary form:
 * node-postgres sends a Buffer parameter as binary, so the answer's bytes go to Postgres as they
 * came and Node neither re-serialises the items nor encodes ~0.5 MB of text again for each page.
 *
 * Usually that is the answer minus its `\u0000` escapes, which jsonb refuses. An answer with
 * escaped surrogates (jsonb refuses the unpaired ones) or bytes that are not UTF-8 is rebuilt
 * from the parsed items, cleaned as sanitizeForPostgres cleans them; both ways store the same items.
 */
export function itemsJsonbForPostgres(bytes: Buffer, items: readonly RawItem[]): Buffer {
  if (!isUtf8(bytes) || hasSurrogateEscape(bytes)) {
    return withVersion(Buffer.from(JSON.stringify({ data: { itemList: items.map(sanitizeForPostgres) } })));
  }
  const nuls: number[] = [];
  for (let at = bytes.indexOf(NUL_ESCAPE); at !== -1; at = bytes.indexOf(NUL_ESCAPE, at + NUL_ESCAPE.length)) {
    if (!isEscaped(bytes, at)) nuls.push(at);
  }
  const out = Buffer.allocUnsafe(1 + bytes.length - nuls.length * NUL_ESCAPE.length);
  out[0] = JSONB_VERSION;
  let written = 1;
  let from = 0;
  for (const at of nuls) {
    written += bytes.copy(out, written, from, at);
    from = at + NUL_ESCAPE.length;
  }
  bytes.copy(out, written, from);
  return out;
}

function withVersion(text: Buffer): Buffer {
  return Buffer.concat([Buffer.of(JSONB_VERSION), text]);
}

/** The backslash at `index` is a literal one when an odd run of backslashes comes right before it. */
function isEscaped(bytes: Buffer, index: number): boolean {
  let run = 0;
  for (let i = index - 1; i >= 0 && bytes[i] === BACKSLASH; i--) run++;
  return run % 2 === 1;
}

/** Any escaped UTF-16 surrogate, `\uD800`–`\uDFFF` in either case, paired or not. */
function hasSurrogateEscape(bytes: Buffer): boolean {
  for (const prefix of ['\\ud', '\\uD']) {
    for (let at = bytes.indexOf(prefix); at !== -1; at = bytes.indexOf(prefix, at + 1)) {
      if (isSurrogateSecondDigit(bytes[at + 3]) && !isEscaped(bytes, at)) return true;
    }
  }
  return false;
}

function isSurrogateSecondDigit(byte: number | undefined): boolean {
  if (byte === undefined) return false;
  const lower = byte | 0x20;
  return byte === 0x38 || byte === 0x39 || (lower >= 0x61 && lower <= 0x66);
}
