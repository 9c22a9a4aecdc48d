import { seededRandom } from './hash.js';

/** A lognormal answer time given as a real API's figures: its median and its 99th percentile. */
export interface LatencyDistribution {
  medianMs: number;
  p99Ms: number;
}

/** The standard normal's 99th percentile. */
const Z99 = 2.326348;

/**
 * Draws answer times from the distribution, seeded so a run is reproducible. A lognormal is what
 * rendering services' latencies look like: most answers near the median, a long tail to the p99.
 */
export function lognormalSampler({ medianMs, p99Ms }: LatencyDistribution, seed: number): () => number {
  const random = seededRandom(seed ^ 0x5bd1e995);
  const mu = Math.log(medianMs);
  const sigma = Math.log(p99Ms / medianMs) / Z99;
  return () => {
    // Box–Muller; 1 - random() is in (0, 1], so the logarithm is finite.
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.exp(mu + sigma * normal);
  };
}
