import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createPaceMeter, etaSeconds, progressDisplay, progressLine, summarize } from '../src/cli/progress.js';
import type { CrawlRun } from '../src/db/schema.js';

function run(overrides: Partial<CrawlRun>): CrawlRun {
  return {
    id: 1,
    hashtagId: '1',
    status: 'running',
    pages: 0,
    items: 0,
    newItems: 0,
    credits: 0,
    maxPages: null,
    maxItems: null,
    mode: 'full',
    since: null,
    stalePagesLimit: null,
    budgetCredits: null,
    trigger: 'cli',
    generation: 1,
    stopReason: null,
    passGroup: null,
    passNumber: null,
    passes: null,
    minNewRatio: null,
    lastError: null,
    createdAt: new Date(0),
    startedAt: new Date(0),
    finishedAt: null,
    ...overrides,
  };
}

/** A stream that collects what is written, posing as a terminal or not. */
function capture(isTTY: boolean) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  if (isTTY) Object.assign(stream, { isTTY: true, columns: 160 });
  let text = '';
  stream.on('data', (chunk) => (text += chunk));
  return { out: stream as unknown as NodeJS.WriteStream, text: () => text };
}

describe('crawl progress', () => {
  it('sums the watched runs and knows the pages left only when every live run has a limit', () => {
    const bounded = summarize(
      [
        run({ id: 1, pages: 4, items: 120, credits: 32, maxPages: 10 }),
        run({ id: 2, pages: 2, items: 60, maxItems: 150 }),
        run({ id: 3, status: 'completed', pages: 7 }),
      ],
      12,
    );
    expect(bounded).toMatchObject({ runs: 3, live: 2, finished: 1, pages: 13, items: 180, credits: 32, remainingPages: 6 + 3 });
    expect(etaSeconds(bounded)).toBe(45);
    expect(summarize([run({ pages: 4, maxPages: 10 }), run({ id: 2 })], 12).remainingPages).toBeNull();
  });

  it('measures pages per minute from growth between polls, not from runs joining or leaving', () => {
    const pace = createPaceMeter();
    expect(pace.sample([run({ id: 1, pages: 50 })], 0)).toBe(0);
    expect(pace.sample([run({ id: 1, pages: 60 }), run({ id: 2, pages: 400 })], 30_000)).toBe(20);
    expect(pace.sample([run({ id: 2, pages: 410 })], 60_000)).toBe(20);
  });

  it('writes plain lines, with an ETA when one is known, where stderr is not a terminal', () => {
    const { out, text } = capture(false);
    const display = progressDisplay(out);
    display.show(summarize([run({ pages: 1, maxPages: 4 })], 6));
    display.show(summarize([run({ status: 'completed', pages: 4, maxPages: 4 })], 6));
    display.stop();
    expect(text().split('\n')).toEqual([
      'runs: 1 live, 0/1 done · pages 1 · items 0 · new 0 · credits 0 · 6.0 req/min · ETA 30s',
      'runs: 0 live, 1/1 done · pages 4 · items 0 · new 0 · credits 0 · 6.0 req/min',
      '',
    ]);
  });

  it('draws a bar on a terminal when the end is known, and just the counts when it is not', () => {
    const bounded = capture(true);
    const bar = progressDisplay(bounded.out);
    bar.show(summarize([run({ pages: 5, items: 150, maxPages: 10 })], 30));
    bar.stop();
    expect(bounded.text()).toMatch(/█{10}░{10} runs: 1 live, 0\/1 done · pages 5 · items 150 .* ETA 10s/);
    expect(bounded.text().endsWith('\n')).toBe(true);

    const unbounded = capture(true);
    const counts = progressDisplay(unbounded.out);
    counts.show(summarize([run({ pages: 5 })], 30));
    counts.stop();
    expect(unbounded.text()).not.toMatch(/[█░]/);
    expect(unbounded.text()).toContain('pages 5');
  });

  it('says so when a worker has no live run to show', () => {
    expect(progressLine(summarize([], 0))).toBe('no live runs; waiting for work');
  });
});
