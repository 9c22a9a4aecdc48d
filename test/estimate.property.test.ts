import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateTotal, observed, sightingsOf, type Sightings } from '../src/coverage/estimate.js';
import { seededRandom } from '../src/sim/hash.js';

/** Sightings of a feed of `size` videos over `passes` passes, each video listed in a pass with probability `p`. */
function simulate(size: number, passes: number, p: number, seed: number): Sightings {
  const random = seededRandom(seed);
  const counts: number[] = [];
  for (let video = 0; video < size; video++) {
    let seen = 0;
    for (let pass = 0; pass < passes; pass++) if (random() < p) seen += 1;
    if (seen > 0) counts.push(seen);
  }
  return sightingsOf(passes, counts);
}

const sightingsArb = fc
  .integer({ min: 1, max: 10 })
  .chain((passes) => fc.record({ passes: fc.constant(passes), counts: fc.array(fc.integer({ min: 1, max: passes }), { maxLength: 500 }) }))
  .map(({ passes, counts }) => sightingsOf(passes, counts));

describe('estimateTotal (capture–recapture)', () => {
  it('cannot estimate from one pass', () => {
    fc.assert(fc.property(fc.array(fc.constant(1), { maxLength: 100 }), (counts) => estimateTotal(sightingsOf(1, counts)) === null));
  });

  it('is never below the videos seen', () => {
    fc.assert(
      fc.property(sightingsArb, (sightings) => {
        const estimate = estimateTotal(sightings);
        return sightings.passes < 2 ? estimate === null : estimate! >= observed(sightings);
      }),
    );
  });

  it('is exactly the videos seen when every video was seen in every pass', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10 }), fc.integer({ min: 0, max: 10_000 }), (passes, videos) => {
        return estimateTotal(sightingsOf(passes, Array.from({ length: videos }, () => passes))) === videos;
      }),
    );
  });

  it('grows with the videos seen only once (more of the feed is still unseen)', () => {
    fc.assert(
      fc.property(sightingsArb, fc.integer({ min: 1, max: 50 }), (sightings, extra) => {
        if (sightings.passes < 2) return true;
        const frequencies = [...sightings.frequencies];
        frequencies[1] = (frequencies[1] ?? 0) + extra;
        return estimateTotal({ passes: sightings.passes, frequencies })! >= estimateTotal(sightings)!;
      }),
    );
  });

  // The ranges keep the sampling error far inside 10 % (the worst of 2,000 seeds at the edges: ~7 %), so these cannot flake.
  it('finds a feed size within 10 % from 3 to 8 passes that each list 50–80 % of it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_000, max: 3_000 }),
        fc.integer({ min: 3, max: 8 }),
        fc.double({ min: 0.5, max: 0.8, noNaN: true }),
        fc.integer(),
        (size, passes, p, seed) => {
          const estimate = estimateTotal(simulate(size, passes, p, seed))!;
          return Math.abs(estimate - size) <= 0.1 * size;
        },
      ),
    );
  });

  it('finds a feed size within 10 % from two passes that each list 60–90 % of it (Lincoln–Petersen)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 3_000 }), fc.double({ min: 0.6, max: 0.9, noNaN: true }), fc.integer(), (size, p, seed) => {
        const estimate = estimateTotal(simulate(size, 2, p, seed))!;
        return Math.abs(estimate - size) <= 0.1 * size;
      }),
    );
  });

  it('refuses a video seen in more passes than there were', () => {
    expect(() => sightingsOf(2, [3])).toThrow(/seen in 3 of 2 passes/);
  });
});
