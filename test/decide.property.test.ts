import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, MIN_BACKOFF_BASE_MS } from '../src/queue/backoff.js';
import { decideAfterPage, type FetchedPage, type RunSoFar, type StopLimits } from '../src/queue/decide.js';
import { pageJobId } from '../src/queue/names.js';

const limitsArb: fc.Arbitrary<StopLimits> = fc.record({
  maxPages: fc.option(fc.integer({ min: 1, max: 50 }), { nil: null }),
  maxItems: fc.option(fc.integer({ min: 1, max: 1_500 }), { nil: null }),
  maxEmptyPages: fc.integer({ min: 1, max: 5 }),
  mode: fc.constantFrom('full' as const, 'incremental' as const),
  stalePagesLimit: fc.integer({ min: 1, max: 5 }),
  sinceMs: fc.constant(null),
});

/** An adversarial upstream: any cursor (including none, equal, smaller), any hasMore, any page size. */
const upstreamPageArb = fc.record({
  nextCursorDelta: fc.option(fc.integer({ min: -40, max: 60 }), { nil: null }),
  hasMore: fc.boolean(),
  itemCount: fc.integer({ min: 0, max: 30 }),
  newItemsShare: fc.double({ min: 0, max: 1, noNaN: true }),
});

type UpstreamPage = typeof upstreamPageArb extends fc.Arbitrary<infer T> ? T : never;

/** Walks a run the way the worker does, feeding each decision back in, for at most `maxSteps` pages. */
function walk(limits: StopLimits, pages: UpstreamPage[], maxSteps: number) {
  let cursor = 0n;
  let soFar: RunSoFar = { pages: 0, items: 0, emptyStreak: 0, staleStreak: 0 };
  const cursorsRequested = new Set<string>();
  for (let step = 0; step < maxSteps; step += 1) {
    cursorsRequested.add(cursor.toString());
    const upstream = pages[step % pages.length]!;
    const page: FetchedPage = {
      cursor: cursor.toString(),
      nextCursor: upstream.nextCursorDelta === null ? null : (cursor + BigInt(upstream.nextCursorDelta)).toString(),
      hasMore: upstream.hasMore,
      itemCount: upstream.itemCount,
      newItems: Math.floor(upstream.itemCount * upstream.newItemsShare),
      newestCreatedAtMs: null,
    };
    const decision = decideAfterPage(page, soFar, limits);
    if (decision.kind === 'stop') return { stoppedAfter: step + 1, cursorsRequested, reason: decision.reason };
    expect(BigInt(decision.nextCursor) > cursor).toBe(true);
    cursor = BigInt(decision.nextCursor);
    soFar = { pages: soFar.pages + 1, items: soFar.items + page.itemCount, emptyStreak: decision.emptyStreak, staleStreak: decision.staleStreak };
  }
  return { stoppedAfter: null, cursorsRequested, reason: null };
}

describe('decideAfterPage properties', () => {
  it('never asks for the same cursor twice, whatever upstream answers', () => {
    fc.assert(
      fc.property(limitsArb, fc.array(upstreamPageArb, { minLength: 1, maxLength: 20 }), (limits, pages) => {
        const result = walk(limits, pages, 200);
        expect(result.cursorsRequested.size).toBe(result.stoppedAfter ?? 200);
      }),
    );
  });

  it('always terminates when upstream stops producing items, however long hasMore stays true', () => {
    fc.assert(
      fc.property(limitsArb, fc.integer({ min: 1, max: 60 }), (limits, delta) => {
        const emptyForever = [{ nextCursorDelta: delta, hasMore: true, itemCount: 0, newItemsShare: 0 }];
        const result = walk(limits, emptyForever, 1_000);
        expect(result.stoppedAfter).not.toBeNull();
        expect(result.stoppedAfter!).toBeLessThanOrEqual(limits.maxEmptyPages);
      }),
    );
  });

  it('stops within the page and item limits the user gave', () => {
    fc.assert(
      fc.property(limitsArb, fc.array(upstreamPageArb, { minLength: 1, maxLength: 20 }), (limits, pages) => {
        const alwaysMore = pages.map((page) => ({ ...page, hasMore: true, nextCursorDelta: 30 }));
        const result = walk(limits, alwaysMore, 2_000);
        if (limits.maxPages !== null) expect(result.stoppedAfter).not.toBeNull();
        if (result.stoppedAfter !== null && limits.maxPages !== null) expect(result.stoppedAfter).toBeLessThanOrEqual(limits.maxPages);
      }),
    );
  });
});

describe('page job ids', () => {
  it('are the same for the same page, so a retried job can never fork the chain', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 1_000 }), fc.nat(), (runId, generation, page) => {
        expect(pageJobId(runId, generation, page)).toBe(pageJobId(runId, generation, page));
        expect(pageJobId(runId, generation, page)).not.toBe(pageJobId(runId, generation, page + 1));
        expect(pageJobId(runId, generation, page)).not.toContain(':');
      }),
    );
  });

  it('differ across runs, generations and pages (no two pages share an id)', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.nat(1_000), fc.integer({ min: 1, max: 20 }), fc.nat(1_000)),
        fc.tuple(fc.nat(1_000), fc.integer({ min: 1, max: 20 }), fc.nat(1_000)),
        (a, b) => {
          fc.pre(a.join() !== b.join());
          expect(pageJobId(...a)).not.toBe(pageJobId(...b));
        },
      ),
    );
  });
});

describe('backoffDelayMs properties', () => {
  it('stays between the key pace and the cap, for any attempt and any randomness', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1_000, max: 600_000 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (attempt, ratePerMin, capMs, random) => {
          const delay = backoffDelayMs(attempt, { ratePerMin, capMs }, () => random);
          expect(delay).toBeGreaterThanOrEqual(Math.min(capMs, Math.max(MIN_BACKOFF_BASE_MS, Math.ceil(60_000 / ratePerMin))));
          expect(delay).toBeLessThanOrEqual(capMs);
        },
      ),
    );
  });
});
