import { describe, expect, it } from 'vitest';
import { estimateCost, renderCostEstimate, type EstimateInput } from '../src/hashtags/cost-estimate.js';

const MONTH_RESET = new Date('2026-12-01T00:00:00Z');
const noLimits = { maxPages: null, maxItems: null, budgetCredits: null };

function input(overrides: Partial<EstimateInput> = {}): EstimateInput {
  return {
    hashtags: [{ label: '#christmas', id: '111', videoCount: 95 }],
    limits: noLimits,
    plan: 'starter',
    ratePerMin: 15,
    dailyCredits: 5_000,
    keysSpentToday: [0],
    monthCredits: 0,
    monthResetsAt: MONTH_RESET,
    namesResolved: 0,
    ...overrides,
  };
}

describe('estimateCost', () => {
  it('prices a hashtag at ceil(videos / 30) pages of 8 credits', () => {
    const estimate = estimateCost(input());
    expect(estimate.hashtags[0]).toMatchObject({ pages: 4, credits: 32 });
    expect(estimate).toMatchObject({ pages: 4, credits: 32, unknownHashtags: 0 });
  });

  it('counts the first page of a hashtag without videos, since a crawl always fetches it', () => {
    expect(estimateCost(input({ hashtags: [{ label: '#empty', id: '1', videoCount: 0 }] })).pages).toBe(1);
  });

  it('takes pages / (rate × keys) minutes', () => {
    const hashtags = [{ label: '#big', id: '1', videoCount: 30 * 900 }];
    expect(estimateCost(input({ hashtags })).minutes).toBe(60);
    expect(estimateCost(input({ hashtags, keysSpentToday: [0, 0, 0] })).minutes).toBe(20);
  });

  it('leaves hashtags without a video count out of the totals and counts them as unknown', () => {
    const estimate = estimateCost(input({ hashtags: [{ label: '#christmas', id: '111', videoCount: 95 }, { label: '3242', id: '3242', videoCount: null }] }));
    expect(estimate.hashtags[1]).toMatchObject({ pages: null, credits: null });
    expect(estimate).toMatchObject({ pages: 4, credits: 32, unknownHashtags: 1 });
  });

  it('stops each hashtag at the first of --max-pages, --max-items and --budget-credits', () => {
    const hashtags = [{ label: '#big', id: '1', videoCount: 3_000 }];
    expect(estimateCost(input({ hashtags, limits: { ...noLimits, maxPages: 7 } })).pages).toBe(7);
    expect(estimateCost(input({ hashtags, limits: { ...noLimits, maxItems: 61 } })).pages).toBe(3);
    expect(estimateCost(input({ hashtags, limits: { ...noLimits, budgetCredits: 50 } })).pages).toBe(6);
  });

  it("fits within today's credits left, summed over keys, each capped at the daily limit", () => {
    const estimate = estimateCost(input({ keysSpentToday: [4_990, 6_000, 0] }));
    expect(estimate.today).toEqual({ remaining: 10 + 0 + 5_000, pagesToday: null, extraDays: 0 });
  });

  it('says how many pages today pays for and how many more days the daily cap makes it take', () => {
    // 1,000 pages = 8,000 credits; 1,000 left today pays 125 pages; 7,000 more at 2 × 5,000 a day = 1 day.
    const estimate = estimateCost(input({ hashtags: [{ label: '#big', id: '1', videoCount: 30_000 }], keysSpentToday: [4_500, 4_500] }));
    expect(estimate.today).toEqual({ remaining: 1_000, pagesToday: 125, extraDays: 1 });
  });

  it('has no daily limit on plans without a daily cap', () => {
    expect(estimateCost(input({ plan: 'pro', dailyCredits: null })).today).toEqual({ remaining: null, pagesToday: null, extraDays: 0 });
  });

  it('prices only the credits this archive adds past the included ones, at the plan overage rate', () => {
    // starter: 20,000 included, $0.75 per 1,000 beyond.
    const hashtags = [{ label: '#big', id: '1', videoCount: 30 * 1_000 }];
    const estimate = estimateCost(input({ hashtags, monthCredits: 19_000 }));
    expect(estimate.month).toMatchObject({ included: 20_000, spentBefore: 19_000, spentAfter: 27_000, overageCredits: 7_000, overageUsd: 5.25 });
    const alreadyOver = estimateCost(input({ hashtags, monthCredits: 25_000 }));
    expect(alreadyOver.month).toMatchObject({ overageCredits: 8_000, overageUsd: 6 });
  });

  it('has no overage price on the free plan, which stops at its included credits', () => {
    const estimate = estimateCost(input({ plan: 'free', dailyCredits: 500, monthCredits: 1_990 }));
    expect(estimate.month).toMatchObject({ included: 2_000, overageCredits: 22, overageUsd: null });
  });

  it('counts the names this dry run resolved at 8 credits each', () => {
    expect(estimateCost(input({ namesResolved: 2 }))).toMatchObject({ namesResolved: 2, resolveCredits: 16 });
  });
});

describe('renderCostEstimate', () => {
  it('shows each hashtag, the totals, today, the month and what resolving a name costs', () => {
    const text = renderCostEstimate(
      estimateCost(
        input({
          hashtags: [
            { label: '#christmas', id: '111', videoCount: 95 },
            { label: '3242', id: '3242', videoCount: null },
          ],
          namesResolved: 1,
        }),
      ),
    );
    expect(text).toMatch(/nothing queued, no page fetched/);
    expect(text).toMatch(/#christmas\s*│ 111\s*│ 95\s*│ 4\s*│ 32\s*│ < 1 min/);
    expect(text).toMatch(/3242\s*│ 3242\s*│ unknown\s*│ -/);
    expect(text).toMatch(/total\s*│\s*│\s*│ 4\s*│ 32\s*│ < 1 min/);
    expect(text).toMatch(/at 15 requests\/min \(1 key × 15 a minute\), without daily caps/);
    expect(text).toMatch(/today\s+5,000 credits left: enough for all of it/);
    expect(text).toMatch(/month\s+0 of 20,000 included credits spent; 32 after this, within the included credits/);
    expect(text).toMatch(/resolving a name not cached yet costs 8 credits \(this dry run resolved 1: 8 credits\)/);
  });

  it('warns when the free plan would run out of its included credits', () => {
    const text = renderCostEstimate(estimateCost(input({ plan: 'free', dailyCredits: 500, monthCredits: 1_990 })));
    expect(text).toMatch(/22 past the included ones, and this plan has no overage: runs pause until 2026-12-01/);
  });

  it('shows the overage in dollars on plans that have one', () => {
    const text = renderCostEstimate(estimateCost(input({ hashtags: [{ label: '#big', id: '1', videoCount: 30_000 }], monthCredits: 19_000 })));
    expect(text).toMatch(/7,000 credits of overage, about \$5\.25/);
    expect(text).toMatch(/today\s+5,000 credits left pay for 625 pages; the rest takes about 1 more day\(s\)/);
  });
});
