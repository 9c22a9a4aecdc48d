/**
 * How many videos a feed really holds, from how often the videos of repeated passes recur
 * (capture–recapture). A pass is one full crawl; each video counts once per pass that listed it.
 */

/** `frequencies[k]`: the videos seen in exactly k of the passes (index 0 unused). */
export interface Sightings {
  passes: number;
  frequencies: readonly number[];
}

/** Videos seen in at least one pass. */
export function observed(sightings: Sightings): number {
  let total = 0;
  for (let k = 1; k < sightings.frequencies.length; k++) total += sightings.frequencies[k] ?? 0;
  return total;
}

/**
 * The feed's estimated size, or null when it cannot be estimated (fewer than two passes).
 *
 * Two passes: Chapman's bias-corrected Lincoln–Petersen estimator,
 *   N = (n1 + 1)(n2 + 1) / (m + 1) − 1,
 * n1 and n2 the videos of each pass and m those seen in both (Chapman 1951, "Some properties of
 * the hypergeometric distribution with applications to zoological sample censuses"). From
 * frequencies alone n1 and n2 are not known apart; n1 + n2 = f1 + 2 f2, so the symmetric split
 * n1 = n2 = (f1 + 2 f2) / 2 is used (exact for equal passes, close otherwise).
 *
 * Three or more: the bias-corrected Chao estimator for incidence data ("Chao2", the form of Chao1
 * for sightings per sampling occasion; Chao 1987, Biometrics 43:783–791; Chao et al. 2009),
 *   N = S_obs + ((t − 1) / t) · Q1 (Q1 − 1) / (2 (Q2 + 1)),
 * t the passes, Q1 and Q2 the videos seen in exactly one and exactly two of them. It is a lower
 * bound under uneven chances of being listed, and never below what was seen.
 */
export function estimateTotal(sightings: Sightings): number | null {
  const { passes } = sightings;
  if (passes < 2) return null;
  const seen = observed(sightings);
  const once = sightings.frequencies[1] ?? 0;
  const twice = sightings.frequencies[2] ?? 0;
  if (passes === 2) {
    const each = (once + 2 * twice) / 2;
    return Math.max(seen, Math.round(((each + 1) * (each + 1)) / (twice + 1) - 1));
  }
  return Math.round(seen + ((passes - 1) / passes) * ((once * (once - 1)) / (2 * (twice + 1))));
}

/** Sightings from how many passes saw each video: counts[i] = passes that listed video i. */
export function sightingsOf(passes: number, counts: Iterable<number>): Sightings {
  const frequencies = Array.from({ length: passes + 1 }, () => 0);
  for (const k of counts) {
    if (!Number.isInteger(k) || k < 1 || k > passes) throw new RangeError(`a video seen in ${k} of ${passes} passes`);
    frequencies[k]! += 1;
  }
  return { passes, frequencies };
}
