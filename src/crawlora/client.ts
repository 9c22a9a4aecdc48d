import { TransientError } from './errors.js';
import { interpretHashtagPage, type HashtagPage } from './interpret.js';

export interface CrawloraClientOptions {
  /** e.g. https://api.crawlora.net/api/v1 */
  baseUrl: string;
  timeoutMs: number;
}

export interface HashtagPageRequest {
  apiKey: string;
  hashtagId: string;
  cursor: string;
  signal?: AbortSignal;
}

export interface CrawloraClient {
  fetchHashtagPage(request: HashtagPageRequest): Promise<HashtagPage>;
}

/** The HTTP edge: builds the request, enforces the timeout, and hands the exchange to `interpretHashtagPage`. */
export function createCrawloraClient(options: CrawloraClientOptions): CrawloraClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    async fetchHashtagPage({ apiKey, hashtagId, cursor, signal }) {
      const url = new URL(`${base}/tiktok/hashtags`);
      url.searchParams.set('id', hashtagId);
      url.searchParams.set('cursor', cursor);
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let status = 0;
      let retryAfter: string | null = null;
      let body: string;
      try {
        const response = await fetch(url, { headers: { 'x-api-key': apiKey, accept: 'application/json' }, signal: combined });
        status = response.status;
        retryAfter = response.headers.get('retry-after');
        body = await response.text();
      } catch (cause) {
        const what = timeout.aborted ? `timed out after ${options.timeoutMs} ms` : 'failed on the network';
        // Headers of a 2xx already arrived when the body broke off: Crawlora billed that one.
        const charged = status >= 200 && status < 300;
        throw new TransientError(`Crawlora request for hashtag ${hashtagId} at cursor ${cursor} ${what}`, { cause, charged });
      }
      return interpretHashtagPage({ status, retryAfter, body, nowMs: Date.now() });
    },
  };
}
