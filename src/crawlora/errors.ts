/**
 * Every upstream outcome that is not a usable page maps to one of these.
 * `retry` says what the pipeline may do about it, so callers never parse messages.
 */
export type RetryMeaning =
  /** Never retry: the request itself is wrong. */
  | 'never'
  /** Stop using this API key: it was refused. */
  | 'disable-key'
  /** Wait `waitMs` without spending an attempt: we were too fast (or out of daily credits). */
  | 'after-wait'
  /** Retry with exponential backoff: a fault on the way, not a verdict on the request. */
  | 'backoff'
  /** Retry a bounded number of times: the failure was charged. */
  | 'bounded';

export interface CrawloraErrorOptions {
  cause?: unknown;
  /** Whether Crawlora billed the response (any 2xx is billed, even an unusable one). */
  charged?: boolean;
  /** The request went out and its answer was not awaited (timeout, shutdown): Crawlora may have billed it. */
  possiblyCharged?: boolean;
}

export abstract class CrawloraError extends Error {
  abstract readonly retry: RetryMeaning;
  readonly charged: boolean;
  readonly possiblyCharged: boolean;
  constructor(message: string, options: CrawloraErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.charged = options.charged ?? false;
    this.possiblyCharged = !this.charged && (options.possiblyCharged ?? false);
  }
}

/** 400: the hashtag id or cursor was refused. Retrying would spend nothing but would never succeed. */
export class InvalidInputError extends CrawloraError {
  readonly retry = 'never' as const;
}

/** 401/403: the key is wrong, revoked, or lacks access. */
export class BadKeyError extends CrawloraError {
  readonly retry = 'disable-key' as const;
  constructor(message: string, readonly status: number, options?: CrawloraErrorOptions) {
    super(message, options);
  }
}

/** 429: the key's rate (or its daily credit cap) was reached. */
export class RateLimitedError extends CrawloraError {
  readonly retry = 'after-wait' as const;
  constructor(
    message: string,
    /** From Retry-After when the server sent one; otherwise null and the caller derives it from the plan. */
    readonly retryAfterMs: number | null,
    readonly dailyCapReached: boolean,
    options?: CrawloraErrorOptions,
  ) {
    super(message, options);
  }
}

/** 5xx, network errors, timeouts, empty or truncated bodies: nothing usable came back. */
export class TransientError extends CrawloraError {
  readonly retry = 'backoff' as const;
}

/** A 2xx whose envelope reports a failure (`code` ≠ 200 or a non-zero status code). Crawlora billed it. */
export class UpstreamError extends CrawloraError {
  readonly retry = 'bounded' as const;
  constructor(message: string, readonly upstreamStatusCode: number | null, options?: CrawloraErrorOptions) {
    super(message, { ...options, charged: true });
  }
}
