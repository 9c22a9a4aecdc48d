export type WindowDecision = { admitted: true } | { admitted: false; retryAfterMs: number };

/**
 * Strict sliding window over admitted requests: a request is admitted when fewer than `limit`
 * requests were admitted in the last `windowMs`. Rejected requests do not count, so a client
 * that backs off exactly Retry-After is admitted.
 *
 * Limit and window are passed per call so a reconfigured simulator applies new values to the
 * history it already has.
 */
export class SlidingWindow {
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

/** Seconds for a Retry-After header: whole seconds, rounded up so the client is never early. */
export function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}
