import { describe, expect, it } from 'vitest';
import { arrivalRatePerMin } from '../src/sim/stats.js';
import { runCli } from './support/cli.js';
import { useCrawlEnvironment } from './support/environment.js';

const t = useCrawlEnvironment({ app: false });

describe('npm run demo', () => {
  it('archives the demo hashtag and says the pace it kept beside the plan rate it announced, never above it', async () => {
    const result = await runCli(['demo', '--max-pages', '8'], t.cliEnv({ CRAWLORA_PLAN: 'growth' }), 120_000);
    expect(result.code).toBe(0);
    const announced = /on the growth plan \((\d+) requests\/min\)/.exec(result.stdout);
    const kept = /paced at ([\d.]+) requests\/min against the plan's (\d+)/.exec(result.stdout);
    expect(announced?.[1]).toBe('45');
    expect(kept?.[2]).toBe('45');
    // The pacer spaces requests at 60 s ÷ rate: whatever the machine's load, never faster.
    expect(Number(kept![1])).toBeLessThanOrEqual(45 * 1.01);
    expect(result.stdout).toMatch(/│ 3242\s+│ completed\s+│ 8\s+│ 240/);
  });

  it('measures a pace over the intervals between arrivals, not over their count', () => {
    expect(arrivalRatePerMin([])).toBeNull();
    expect(arrivalRatePerMin([1_000])).toBeNull();
    expect(arrivalRatePerMin([0, 500, 1_000, 1_500])).toBe(120);
    expect(arrivalRatePerMin([1_500, 0, 1_000, 500])).toBe(120);
  });
});
