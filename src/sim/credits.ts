export const CREDITS_PER_REQUEST = 8;
const DAY_MS = 86_400_000;

export type CreditDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

interface KeyDay {
  day: number;
  chargedCredits: number;
  /** Credits of admitted requests still in flight (slow faults, latency). */
  reservedCredits: number;
}

/**
 * Daily credit cap per key, per UTC day. An admitted request reserves its credits until it is
 * answered, so concurrent in-flight requests cannot overshoot the cap together; only a 2xx
 * turns the reservation into a charge.
 */
export class CreditLedger {
  private readonly keys = new Map<string, KeyDay>();

  reserve(apiKey: string, nowMs: number, dailyCredits: number | null): CreditDecision {
    const entry = this.today(apiKey, nowMs);
    if (dailyCredits !== null && entry.chargedCredits + entry.reservedCredits + CREDITS_PER_REQUEST > dailyCredits) {
      return { allowed: false, retryAfterMs: (entry.day + 1) * DAY_MS - nowMs };
    }
    entry.reservedCredits += CREDITS_PER_REQUEST;
    return { allowed: true };
  }

  /** Settles one earlier reservation; `charged` when the answer was a 2xx that reached the client. */
  settle(apiKey: string, nowMs: number, charged: boolean): void {
    const entry = this.today(apiKey, nowMs);
    entry.reservedCredits -= CREDITS_PER_REQUEST;
    if (charged) entry.chargedCredits += CREDITS_PER_REQUEST;
  }

  private today(apiKey: string, nowMs: number): KeyDay {
    const day = Math.floor(nowMs / DAY_MS);
    let entry = this.keys.get(apiKey);
    if (!entry) {
      entry = { day, chargedCredits: 0, reservedCredits: 0 };
      this.keys.set(apiKey, entry);
    } else if (entry.day !== day) {
      // Reservations made yesterday are still in flight; only the charges start afresh.
      entry.day = day;
      entry.chargedCredits = 0;
    }
    return entry;
  }
}
