/**
 * When may a key's next request leave: GCRA (the generic cell rate algorithm, a leaky bucket
 * kept as one number). Each key has a theoretical arrival time `tat`; a request leaves at `tat`,
 * or up to `toleranceMs` before it after a gap, and moves `tat` one emission interval on. The
 * Redis script in rate-limiter.ts runs the same arithmetic on Redis's clock for every worker;
 * these functions are what the property tests check.
 *
 * Why this shape: requests spaced evenly at the plan's rate never pile up at the start of a
 * window, so they stay within any way of counting them — a sliding window, a fixed window, a
 * shorter window holding its share of the limit, or a token bucket that allows two at once.
 */

/** Requests per minute whatever `windowMs` says; the window only tells how much margin to keep. */
export interface PaceInput {
  /** The plan's requests per minute: the most any window may see. */
  planRatePerMin: number;
  /** The rate to pace at, at most the plan's (lowered after 429s, see adaptive-rate.ts). */
  ratePerMin: number;
  /** The upstream's counting window. */
  windowMs: number;
}

export interface Pace {
  /** Time between two requests of the key. */
  intervalMs: number;
  /** How long before its theoretical time a request may leave after a gap: the burst allowance. */
  toleranceMs: number;
}

/**
 * How much wider than upstream's window ours is. A request's time is taken before it travels;
 * if a later request travels faster than an earlier one, upstream sees them closer together than
 * we did. The margin absorbs that jitter at the cost of ~1 % of throughput.
 */
export function paddedWindowMs(windowMs: number): number {
  return windowMs + Math.max(50, Math.ceil(windowMs * 0.01));
}

/** How many requests one window holds at `ratePerMin`: whole requests, at least one. */
export function limitPerWindow(ratePerMin: number, windowMs: number): number {
  return Math.max(1, Math.floor((ratePerMin * windowMs) / 60_000));
}

/**
 * The interval spreads the window's whole requests over the padded window (so a window holds at
 * most its limit, whatever the jitter up to the padding), and never goes under 60 s ÷ rate.
 *
 * The tolerance lets a request leave a little early after a gap (a worker short of jobs) instead
 * of losing its turn. It is at most one interval of the plan, so two requests never leave closer
 * than a token bucket of burst 2 allows, and at most a twelfth of the padding, so even a window a
 * sixth as long (10 s of 60 s) holding its share of the limit is never exceeded by requests that
 * leave on time.
 */
export function paceFor({ planRatePerMin, ratePerMin, windowMs }: PaceInput): Pace {
  const rate = Math.min(planRatePerMin, ratePerMin);
  const paddingFactor = paddedWindowMs(windowMs) / windowMs;
  const unpaddedIntervalMs = (rate: number) => Math.max(60_000 / rate, windowMs / limitPerWindow(rate, windowMs));
  return {
    intervalMs: unpaddedIntervalMs(rate) * paddingFactor,
    toleranceMs: Math.min(unpaddedIntervalMs(planRatePerMin), marginShareMs(windowMs)),
  };
}

/** A key's schedule: the theoretical time of its next request (0: none) and the interval that set it. */
export interface PaceState {
  tatMs: number;
  intervalMs: number;
}

export type PaceDecision =
  | { kind: 'send'; atMs: number; state: PaceState }
  /** No slot within the horizon: ask again after `waitMs`. */
  | { kind: 'wait'; waitMs: number };

/**
 * Reserves the next slot if it is at most `horizonMs` ahead, so waiting workers each hold their own
 * future slot instead of all retrying at the same instant. Slots are handed out in order and
 * never closer than the tolerance allows, so the send times conform to GCRA(interval, tolerance).
 * A faster pace than the one that scheduled the next slot (a plan change, a rate recovering)
 * applies to that slot too, as if the last request had left at the new pace.
 */
export function decidePace(state: PaceState, nowMs: number, pace: Pace, horizonMs: number): PaceDecision {
  const tatMs = pace.intervalMs < state.intervalMs ? state.tatMs - state.intervalMs + pace.intervalMs : state.tatMs;
  const theoretical = Math.max(tatMs, nowMs);
  const atMs = Math.max(nowMs, theoretical - pace.toleranceMs);
  if (atMs - nowMs > horizonMs) return { kind: 'wait', waitMs: atMs - nowMs - horizonMs };
  return { kind: 'send', atMs, state: { tatMs: theoretical + pace.intervalMs, intervalMs: pace.intervalMs } };
}

/**
 * A slot not used after all (its job had nothing to fetch) is undone if no other slot was handed
 * out since: the schedule is then exactly as if it had never been taken. Otherwise undoing it
 * could let a later request leave too close to another, so it stays spent: one interval lost.
 */
export function undoSlot(current: PaceState, slot: { before: PaceState; after: PaceState }): PaceState {
  return current.tatMs === slot.after.tatMs ? slot.before : current;
}

/** A twelfth of the window's margin: what the tolerance and the grace may each take of it. */
function marginShareMs(windowMs: number): number {
  return (paddedWindowMs(windowMs) - windowMs) / 12;
}

/**
 * How late a request may still leave after its slot's moment (a stalled event loop woke it up
 * late): half the window's margin (300 ms at 60 s), which with the tolerance keeps any window of
 * that length within its limit. Later than that, the slot is dropped and another one taken: a gap
 * in the pace rather than a request crowding the next window. A late request is harmless to a
 * token bucket (it only spends its token later) unless more leave at once than its burst.
 */
export function graceFor(windowMs: number): number {
  return (paddedWindowMs(windowMs) - windowMs) / 2;
}
