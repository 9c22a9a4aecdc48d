export interface SimPageRequest {
  hashtagId: string;
  cursor: number;
  /** HTTP status sent; 0 while in flight or when the client left before the answer. */
  status: number;
  /** First 8 characters only, enough to tell keys apart in a log without repeating them whole. */
  key: string;
  /** When it arrived (unix ms): tests check pauses after a 429 with it. */
  atMs: number;
}

/** A complete 2xx page as it reached the client: what the crawler should have stored about it. */
export interface SimServedPage {
  hashtagId: string;
  cursor: number;
  logId: string;
  fatalItemIds: string[];
}

export interface SimStats {
  /** API requests received (control endpoints under /__sim are not counted). */
  requests: number;
  /** Per HTTP status sent; requests abandoned by the client are not counted. */
  byStatus: Record<string, number>;
  creditsTotal: number;
  /** By whole key, so distinct keys sharing a prefix are never summed together. */
  creditsByKey: Record<string, number>;
  /** Every /hashtags request in arrival order. */
  pageRequests: SimPageRequest[];
  /** Per hashtag id, unique ids delivered on complete 2xx pages, in first-served order. */
  idsServed: Record<string, string[]>;
  /** Every complete 2xx page, in the order they were sent. */
  pagesServed: SimServedPage[];
  detailRequests: number;
  /** 429s caused by the sliding window (not injected faults). */
  rateLimited: number;
}

const KEY_PREFIX_CHARS = 8;

/**
 * The pace a client kept: requests a minute from the first arrival to the last (n arrivals span
 * n − 1 intervals). Null under two arrivals, which have no pace.
 */
export function arrivalRatePerMin(arrivalsMs: readonly number[]): number | null {
  if (arrivalsMs.length < 2) return null;
  const spanMs = Math.max(...arrivalsMs) - Math.min(...arrivalsMs);
  return spanMs === 0 ? Number.POSITIVE_INFINITY : ((arrivalsMs.length - 1) * 60_000) / spanMs;
}

export class StatsRecorder {
  private requests = 0;
  private byStatus = new Map<number, number>();
  private creditsTotal = 0;
  private creditsByKey = new Map<string, number>();
  private pageRequests: SimPageRequest[] = [];
  private idsServed = new Map<string, Set<string>>();
  private detailRequests = 0;
  private rateLimited = 0;
  private pagesServed: SimServedPage[] = [];

  request(): void {
    this.requests++;
  }

  /** Returns the entry so its status can be filled in once the answer is sent. */
  pageRequest(hashtagId: string, cursor: number, apiKey: string): SimPageRequest {
    const entry = { hashtagId, cursor, status: 0, key: apiKey.slice(0, KEY_PREFIX_CHARS), atMs: Date.now() };
    this.pageRequests.push(entry);
    return entry;
  }

  detailRequest(): void {
    this.detailRequests++;
  }

  rateLimitedRequest(): void {
    this.rateLimited++;
  }

  status(status: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
  }

  credits(apiKey: string, credits: number): void {
    this.creditsTotal += credits;
    this.creditsByKey.set(apiKey, (this.creditsByKey.get(apiKey) ?? 0) + credits);
  }

  servedPage(page: SimServedPage): void {
    this.pagesServed.push(page);
  }

  served(hashtagId: string, ids: readonly string[]): void {
    let served = this.idsServed.get(hashtagId);
    if (!served) {
      served = new Set();
      this.idsServed.set(hashtagId, served);
    }
    for (const id of ids) served.add(id);
  }

  /** A copy: callers may keep it while the simulator goes on serving. */
  snapshot(): SimStats {
    return {
      requests: this.requests,
      byStatus: Object.fromEntries([...this.byStatus].map(([status, n]) => [String(status), n])),
      creditsTotal: this.creditsTotal,
      creditsByKey: Object.fromEntries(this.creditsByKey),
      pageRequests: this.pageRequests.map((entry) => ({ ...entry })),
      idsServed: Object.fromEntries([...this.idsServed].map(([hashtagId, ids]) => [hashtagId, [...ids]])),
      pagesServed: this.pagesServed.map((page) => ({ ...page, fatalItemIds: [...page.fatalItemIds] })),
      detailRequests: this.detailRequests,
      rateLimited: this.rateLimited,
    };
  }
}
