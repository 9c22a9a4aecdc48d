import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, type Dispatcher } from 'undici';
import { interpretHashtagDetail, type HashtagDetail } from './detail.js';
import { TransientError } from './errors.js';
import { interpretHashtagPage, type HashtagPage, type WireResponse } from './interpret.js';

export interface CrawloraClientOptions {
  /** e.g. https://api.crawlora.net/api/v1 */
  baseUrl: string;
  timeoutMs: number;
  /** An answer larger than this is cut off and treated as a transient failure. */
  maxBodyBytes: number;
}

export interface HashtagPageRequest {
  apiKey: string;
  hashtagId: string;
  cursor: string;
  signal?: AbortSignal;
}

export interface HashtagDetailRequest {
  apiKey: string;
  /** Already normalized: lower case, without '#'. */
  name: string;
  signal?: AbortSignal;
}

export interface CrawloraClient {
  fetchHashtagPage(request: HashtagPageRequest): Promise<HashtagPage>;
  /** Resolves a hashtag name to its id (8 credits, like a page). */
  fetchHashtagDetail(request: HashtagDetailRequest): Promise<HashtagDetail>;
  /** Readies the HTTP client without a request to Crawlora; a worker calls it before its first job. */
  warm(): Promise<void>;
}

/**
 * One request through undici to a throwaway server on loopback. A process's first request pays
 * for undici's setup (its parser among it: 18-58 ms measured, 2-5 ms for the next ones, a new
 * connection included); paid inside a paced slot, it made a fresh worker's first request reach
 * upstream that much later than its slot, crowding a short window with the next ones.
 */
async function warmUndici(): Promise<void> {
  const server = createServer((_, response) => response.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await response.body.dump();
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

class BodyTooLargeError extends Error {}

/**
 * The body as bytes, refused as soon as it passes `maxBytes` (by its announced length, or while it
 * streams in), so a 50 MB or endless answer never reaches the worker's heap whole.
 */
async function readCapped(body: Dispatcher.ResponseData['body'], contentLength: string | string[] | undefined, maxBytes: number): Promise<Buffer> {
  if (typeof contentLength === 'string' && Number(contentLength) > maxBytes) {
    body.destroy();
    throw new BodyTooLargeError();
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += (chunk as Buffer).length;
    if (length > maxBytes) {
      body.destroy();
      throw new BodyTooLargeError();
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}

/** The HTTP edge: builds the requests, enforces the timeout, and hands each exchange to its pure interpreter. */
export function createCrawloraClient(options: CrawloraClientOptions): CrawloraClient {
  const base = options.baseUrl.replace(/\/+$/, '');

  /** `what` names the request in errors, e.g. "hashtag 3242 at cursor 0". */
  async function exchange(url: URL, apiKey: string, what: string, signal: AbortSignal | undefined): Promise<WireResponse> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status = 0;
    let retryAfter: string | null = null;
    let bytes: Buffer;
    try {
      // undici's request rather than fetch: a page costs ~1 ms less CPU, and the body stays bytes
      // that can go to Postgres as they came (see itemsJsonbForPostgres).
      const response = await request(url, { headers: { 'x-api-key': apiKey, accept: 'application/json' }, signal: combined });
      status = response.statusCode;
      const header = response.headers['retry-after'];
      retryAfter = (Array.isArray(header) ? header[0] : header) ?? null;
      bytes = await readCapped(response.body, response.headers['content-length'], options.maxBodyBytes);
    } catch (cause) {
      const failure =
        cause instanceof BodyTooLargeError
          ? `answered more than ${options.maxBodyBytes} bytes (CRAWLORA_MAX_BODY_BYTES); the answer was cut off`
          : timeout.aborted
            ? `timed out after ${options.timeoutMs} ms`
            : signal?.aborted
              ? 'was cut short (shutting down)'
              : 'failed on the network';
      // Headers of a 2xx already arrived when the body broke off: Crawlora billed that one. One we
      // stopped waiting for usually finishes upstream and is billed too.
      const charged = status >= 200 && status < 300;
      const possiblyCharged = timeout.aborted || signal?.aborted === true;
      throw new TransientError(`Crawlora request for ${what} ${failure}`, { cause, charged, possiblyCharged });
    }
    return { status, retryAfter, bytes, nowMs: Date.now() };
  }

  return {
    async fetchHashtagPage({ apiKey, hashtagId, cursor, signal }) {
      const url = new URL(`${base}/tiktok/hashtags`);
      url.searchParams.set('id', hashtagId);
      url.searchParams.set('cursor', cursor);
      return interpretHashtagPage(await exchange(url, apiKey, `hashtag ${hashtagId} at cursor ${cursor}`, signal));
    },
    async fetchHashtagDetail({ apiKey, name, signal }) {
      const url = new URL(`${base}/tiktok/hashtag/${encodeURIComponent(name)}`);
      return interpretHashtagDetail(name, await exchange(url, apiKey, `hashtag '${name}'`, signal));
    },
    warm: warmUndici,
  };
}
