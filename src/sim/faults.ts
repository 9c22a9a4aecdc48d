import { seededRandom } from './hash.js';
import type { SimFaultRule } from './options.js';

export const DEFAULT_SLOW_DELAY_MS = 30_000;

export interface FaultTarget {
  endpoint: 'hashtags' | 'detail';
  hashtagId: string;
  /** Absent for detail requests, so a rule with a cursor never matches them. */
  cursor?: number;
}

function matches(rule: SimFaultRule, target: FaultTarget): boolean {
  const endpoint = rule.endpoint ?? 'hashtags';
  if (endpoint !== 'any' && endpoint !== target.endpoint) return false;
  if (rule.hashtagId !== undefined && rule.hashtagId !== target.hashtagId) return false;
  if (rule.cursor !== undefined && rule.cursor !== target.cursor) return false;
  return true;
}

/**
 * Picks the injected fault for a request: the first matching rule that still has `times` left
 * and whose coin (seeded, so a run is reproducible) comes up. Rules with rate 1 draw no number,
 * so adding a deterministic rule does not shift the random sequence of the others.
 */
export class FaultInjector {
  private random: () => number;
  private firedCounts: number[];

  constructor(
    private rules: SimFaultRule[],
    private seed: number,
  ) {
    this.random = seededRandom(seed);
    this.firedCounts = rules.map(() => 0);
  }

  /** New rules start with fresh counters; the RNG continues unless the seed changed. */
  configure(rules: SimFaultRule[], seed: number): void {
    if (rules !== this.rules) {
      this.rules = rules;
      this.firedCounts = rules.map(() => 0);
    }
    if (seed !== this.seed) {
      this.seed = seed;
      this.random = seededRandom(seed);
    }
  }

  reset(): void {
    this.random = seededRandom(this.seed);
    this.firedCounts = this.rules.map(() => 0);
  }

  pick(target: FaultTarget): SimFaultRule | undefined {
    for (let i = 0; i < this.rules.length; i++) {
      const rule = this.rules[i]!;
      if (!matches(rule, target)) continue;
      if (rule.times !== undefined && this.firedCounts[i]! >= rule.times) continue;
      const rate = rule.rate ?? 1;
      if (rate < 1 && this.random() >= rate) continue;
      this.firedCounts[i]!++;
      return rule;
    }
    return undefined;
  }
}
