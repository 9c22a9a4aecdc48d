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
  /** How late after its slot a request may still leave (a stalled event loop); later, the slot is dropped. */
  graceMs: number;
  /**
   * How late after its slot a request may reach upstream with every kept window still within its
   * share: the grace plus what the way there adds (the HTTP client, the network, upstream's own
   * event loop stamping it).
   */
  jitterMs: number;
}

/**
 * How much wider than upstream's window ours is: the room for a request reaching upstream later
 * than its slot (see `Pace.jitterMs`) and for leaving early after a gap (`toleranceMs`).
 */
export function paddedWindowMs(windowMs: number): number {
  return windowMs + Math.max(100, Math.ceil(windowMs * 0.01));
}

/** How many requests one window holds at `ratePerMin`: whole requests, at least one. */
export function limitPerWindow(ratePerMin: number, windowMs: number): number {
  return Math.max(1, Math.floor((ratePerMin * windowMs) / 60_000));
}

/** Upstream windows shorter than this are not guessed at: a 429 there lowers the rate instead (adaptive-rate.ts). */
const SHORTEST_KEPT_WINDOW_MS = 10_000;
/** The shorter windows kept are the window's halves to sixths: a minute's 30, 20, 15, 12 and 10 s. */
const MOST_DIVISIONS = 6;
/**
 * A shorter window is kept only when its share in whole requests costs less than half a percent of
 * the rate (Enterprise's 10 s: 166 of 166.7). Keeping Starter's (2 of 2.5 per 10 s) would cost a
 * fifth of the rate on every upstream, for the sake of one that counts that way.
 */
const KEPT_SHARE = 0.995;

/**
 * The windows whose share of the limit the pace keeps, longest first: upstream's own, and each
 * shorter one it divides into (down to 10 s) whose share in whole requests is nearly the rate's.
 * A crawler told "1,000 a minute" cannot know whether upstream counts per minute or per 10 s.
 */
export function keptWindowsMs(ratePerMin: number, windowMs: number): number[] {
  const kept = [windowMs];
  for (let parts = 2; parts <= MOST_DIVISIONS && windowMs / parts >= SHORTEST_KEPT_WINDOW_MS; parts++) {
    const shorterMs = windowMs / parts;
    const share = (ratePerMin * shorterMs) / 60_000;
    if (Math.floor(share) >= KEPT_SHARE * share) kept.push(shorterMs);
  }
  return kept;
}

/**
 * The plan's pace, from which every lower rate's is scaled (see paceFor).
 *
 * The interval spreads each kept window's whole requests over that window padded: K + 1 requests
 * whose slots conform to GCRA(interval, tolerance) span at least K × interval − tolerance, so
 * even the first of them reaching upstream `jitterMs` late, they never fit in one window while
 * tolerance + jitter stay within the padding. The shortest kept window has the least padding, so
 * it sets both: a tenth of it to the tolerance (and at most one interval of the plan, so two
 * requests never leave closer than a token bucket of burst 2 allows), half to the grace, and
 * the other 0.4 to the way to upstream (40 ms when a 10 s window is kept).
 */
function planPace(planRatePerMin: number, windowMs: number): Pace {
  const kept = keptWindowsMs(planRatePerMin, windowMs);
  const intervalMs = upToMicros(Math.max(60_000 / planRatePerMin, ...kept.map((keptMs) => paddedWindowMs(keptMs) / limitPerWindow(planRatePerMin, keptMs))));
  const shortestMs = Math.min(...kept);
  const slackMs = paddedWindowMs(shortestMs) - shortestMs;
  const toleranceMs = downToMicros(Math.min(60_000 / planRatePerMin, slackMs / 10));
  return { intervalMs, toleranceMs, graceMs: downToMicros(slackMs / 2), jitterMs: slackMs - toleranceMs };
}

/**
 * Whole microseconds, as the Redis script keeps them: rounded so that K intervals are never a
 * rounding error short of the padded window, nor the allowances a rounding error over it.
 */
const upToMicros = (ms: number) => Math.ceil(ms * 1000) / 1000;
const downToMicros = (ms: number) => Math.floor(ms * 1000) / 1000;

/**
 * A rate under the plan's (after 429s) stretches the plan's interval in proportion, so it is
 * never shorter than the plan's: every window the plan's pace keeps stays kept.
 */
export function paceFor({ planRatePerMin, ratePerMin, windowMs }: PaceInput): Pace {
  const pace = planPace(planRatePerMin, windowMs);
  return { ...pace, intervalMs: upToMicros((pace.intervalMs * planRatePerMin) / Math.min(planRatePerMin, ratePerMin)) };
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
