import {
  BadKeyError,
  InvalidInputError,
  RateLimitedError,
  TransientError,
  UpstreamError,
} from './errors.js';
import { hashtagPageBodySchema, isRawItem, type RawItem } from './schema.js';

/** What came back over the wire, before any judgement. */
export interface WireResponse {
  status: number;
  retryAfter: string | null;
  /** The body as it came, undecoded. */
  bytes: Buffer;
  /** For Retry-After given as an HTTP date. */
  nowMs: number;
}

export interface HashtagPage {
  items: RawItem[];
  /** Items without a usable string id: counted, never stored. */
  invalidItems: number;
  hasMore: boolean;
  /** The cursor to send for the next page, as upstream gave it; null when absent. */
  nextCursor: string | null;
  /** The answer's bytes as they came, so the items can be stored without serialising them again. */
  bytes: Buffer;
  /** `data.extra.logid`, else `data.log_pb.impr_id`: the page's id for Crawlora's support. */
  logId: string | null;
  /** `data.extra.fatal_item_ids` as served (numbers as their digits); null when the page has none. */
  fatalItemIds: string[] | null;
}

const MAX_MESSAGE_CHARS = 200;

/**
 * Turns one HTTP exchange into a page or a typed error. Pure, so every mapping in the
 * issue (400, 401/403, 429, 5xx, empty, truncated, envelope errors) is tested directly.
 */
export function interpretHashtagPage(response: WireResponse): HashtagPage {
  const parsed = hashtagPageBodySchema.safeParse(billedJson(response));
  if (!parsed.success) {
    throw new UpstreamError(`Crawlora's page did not match the documented shape: ${parsed.error.issues[0]?.message ?? 'unknown'}`, null, {
      cause: parsed.error,
    });
  }
  const body = parsed.data;
  const data = body.data;
  const upstreamStatus = data?.statusCode ?? data?.status_code ?? 0;
  if ((body.code !== undefined && body.code !== 200) || upstreamStatus !== 0 || !data) {
    const detail = data?.status_msg ?? body.msg ?? 'no data';
    throw new UpstreamError(
      `Crawlora reported a failure in a 2xx answer (code ${body.code ?? '?'}, statusCode ${upstreamStatus}: ${truncate(detail)})`,
      upstreamStatus,
    );
  }

  const items: RawItem[] = [];
  let invalidItems = 0;
  for (const item of data.itemList ?? []) {
    if (isRawItem(item)) items.push(item);
    else invalidItems += 1;
  }
  const cursor = data.cursor;
  return {
    items,
    invalidItems,
    hasMore: data.hasMore === true,
    nextCursor: cursor === null || cursor === undefined ? null : String(cursor),
    bytes: response.bytes,
    logId: nonEmptyString(data.extra?.logid) ?? nonEmptyString(data.log_pb?.impr_id),
    fatalItemIds: fatalItemIdsOf(data.extra?.fatal_item_ids, response.bytes),
  };
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * Ids as text, exactly as served. Ids are 19-digit snowflakes: one sent as a JSON number has lost
 * digits in JSON.parse, so then the array's digits are read from the body's own text instead.
 */
function fatalItemIdsOf(value: unknown, bytes: Buffer): string[] | null {
  if (!Array.isArray(value)) return null;
  if (value.every((id) => typeof id === 'string' || Number.isSafeInteger(id))) return value.map(String);
  const listed = FATAL_IDS_TEXT.exec(bytes.toString('utf8'))?.[1];
  if (listed === undefined) return value.map(String);
  const numbersQuoted = listed.replace(JSON_STRING_OR_NUMBER, (token) => (token.startsWith('"') ? token : `"${token}"`));
  return (JSON.parse(numbersQuoted) as unknown[]).map(String);
}

const FATAL_IDS_TEXT = /"fatal_item_ids"\s*:\s*(\[[^\]]*\])/;
const JSON_STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*/g;

/**
 * What every Crawlora endpoint shares: the HTTP status mapped to a typed error, and a 2xx body
 * (billed, whatever it holds) parsed as JSON. What the JSON means is up to each endpoint.
 */
export function billedJson(response: WireResponse): unknown {
  const { status } = response;
  const body = response.bytes.toString('utf8');
  // Only failures are worth the cost of reading their message: a 2xx page is ~500 KB of JSON.
  const upstreamMsg = status >= 200 && status < 300 ? '' : messageOf(body);
  if (status === 400) {
    throw new InvalidInputError(`Crawlora refused the request as invalid input (400${upstreamMsg})`);
  }
  if (status === 403 && !isCrawloraEnvelope(body)) {
    // A WAF or CDN in front of Crawlora says nothing about the key, and passes.
    throw new TransientError(`HTTP 403 whose body is not Crawlora's JSON (${response.bytes.length} bytes): a proxy, WAF or CDN refused the request, not Crawlora the key`);
  }
  if (status === 401 || status === 403) {
    throw new BadKeyError(`Crawlora refused the API key (${status}${upstreamMsg})`, status);
  }
  if (status === 429) {
    const dailyCapReached = /daily|credit|quota/i.test(upstreamMsg);
    throw new RateLimitedError(
      `Crawlora rate limit reached (429${upstreamMsg})`,
      parseRetryAfterMs(response.retryAfter, response.nowMs),
      dailyCapReached,
    );
  }
  if (status >= 300 && status < 500) {
    // 404, 405, 413…, or a redirect (not followed: the key would travel to another host): the
    // request (often the base URL) is wrong, and asking again changes nothing.
    throw new InvalidInputError(`Crawlora answered HTTP ${status}${upstreamMsg}; check CRAWLORA_BASE_URL`);
  }
  if (status < 200 || status >= 300) {
    throw new TransientError(`Crawlora answered HTTP ${status}${upstreamMsg}`);
  }

  // From here on the response was 2xx, so Crawlora billed it whatever it holds.
  if (/^\s*$/.test(body)) {
    throw new TransientError('Crawlora answered 2xx with an empty body', { charged: true });
  }
  try {
    return JSON.parse(body);
  } catch (cause) {
    throw new TransientError(`Crawlora answered 2xx with a truncated or malformed JSON body (${response.bytes.length} bytes)`, {
      cause,
      charged: true,
    });
  }
}

export function parseRetryAfterMs(header: string | null, nowMs: number): number | null {
  if (header === null || header.trim() === '') return null;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  const dateMs = Date.parse(trimmed);
  return Number.isNaN(dateMs) ? null : Math.max(0, dateMs - nowMs);
}

/** Crawlora's failures come as its `{code, msg}` envelope. */
function isCrawloraEnvelope(body: string): boolean {
  try {
    const json: unknown = JSON.parse(body);
    return typeof json === 'object' && json !== null && !Array.isArray(json) && ('code' in json || 'msg' in json);
  } catch {
    return false;
  }
}

function messageOf(body: string): string {
  try {
    const json = JSON.parse(body) as { msg?: unknown };
    return typeof json.msg === 'string' && json.msg !== '' ? `: ${truncate(json.msg)}` : '';
  } catch {
    return '';
  }
}

export function truncate(text: string): string {
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}
