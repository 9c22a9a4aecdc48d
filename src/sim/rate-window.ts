export type WindowDecision = { admitted: true } | { admitted: false; retryAfterMs: number };

/** How the simulator counts a key's requests against its limit; a real API says only "N a minute". */
export type Counting = 'sliding' | 'fixed' | 'token-bucket';
export const COUNTINGS: readonly Counting[] = ['sliding', 'fixed', 'token-bucket'];

/**
 * One key's counter. Limit and window are passed per call so a reconfigured simulator applies new
 * values to the history it already has. Rejected requests do not count, so a client that backs
 * off exactly Retry-After is admitted.
 */
export interface RateCounter {
  admit(nowMs: number, limit: number, windowMs: number): WindowDecision;
}

export function createCounter(counting: Counting, burst: number): RateCounter {
  switch (counting) {
    case 'sliding':
      return new SlidingWindow();
    case 'fixed':
      return new FixedWindow();
    case 'token-bucket':
      return new TokenBucket(burst);
  }
}

/** Strict sliding window: admitted when fewer than `limit` requests were admitted in the last `windowMs`. */
export class SlidingWindow implements RateCounter {
  /** Admission times (ms), oldest first; entries before `head` have left the window. */
  private admittedAtMs: number[] = [];
  private head = 0;

  admit(nowMs: number, limit: number, windowMs: number): WindowDecision {
    this.evict(nowMs - windowMs);
    const inWindow = this.admittedAtMs.length - this.head;
    if (inWindow < limit) {
      this.admittedAtMs.push(nowMs);
      return { admitted: true };
    }
    // limit 0 admits nothing ever; a full window's wait is the honest answer then.
    const oldestMs = inWindow > 0 ? this.admittedAtMs[this.head + inWindow - limit]! : nowMs;
    return { admitted: false, retryAfterMs: oldestMs + windowMs - nowMs };
  }

  private evict(cutoffMs: number): void {
    while (this.head < this.admittedAtMs.length && this.admittedAtMs[this.head]! <= cutoffMs) this.head++;
    // Compact occasionally instead of shifting per request, keeping admission O(1) amortised.
    if (this.head > 1024 && this.head * 2 > this.admittedAtMs.length) {
      this.admittedAtMs = this.admittedAtMs.slice(this.head);
      this.head = 0;
    }
  }
}

/** Fixed windows aligned to the epoch (every whole minute, say): `limit` per window, reset at its end. */
export class FixedWindow implements RateCounter {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private count = 0;

  admit(nowMs: number, limit: number, windowMs: number): WindowDecision {
    const startMs = Math.floor(nowMs / windowMs) * windowMs;
    if (startMs !== this.windowStartMs) {
      this.windowStartMs = startMs;
      this.count = 0;
    }
    if (this.count < limit) {
      this.count++;
      return { admitted: true };
    }
    return { admitted: false, retryAfterMs: startMs + windowMs - nowMs };
  }
}

/** A bucket of `burst` tokens, full at the first request, refilled at `limit` per `windowMs`; a request takes one. */
export class TokenBucket implements RateCounter {
  private tokens: number;
  private lastMs: number | null = null;

  constructor(private readonly burst: number) {
    this.tokens = burst;
  }

  admit(nowMs: number, limit: number, windowMs: number): WindowDecision {
    const perMs = limit / windowMs;
    if (this.lastMs !== null) this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.lastMs) * perMs);
    this.lastMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { admitted: true };
    }
    return { admitted: false, retryAfterMs: perMs > 0 ? (1 - this.tokens) / perMs : windowMs };
  }
}

/** Seconds for a Retry-After header: whole seconds, rounded up so the client is never early. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
