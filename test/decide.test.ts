import { describe, expect, it } from 'vitest';
import { cursorAdvances, decideAfterPage, type StopLimits } from '../src/queue/decide.js';

const limits: StopLimits = { maxPages: null, maxItems: null, maxEmptyPages: 3, mode: 'full', stalePagesLimit: 3, sinceMs: null };
const soFar = { pages: 0, items: 0, emptyStreak: 0, staleStreak: 0 };
const fresh = { newItems: 30, newestCreatedAtMs: null };

describe('decideAfterPage', () => {
  it('continues with the next cursor while hasMore holds', () => {
    expect(decideAfterPage({ ...fresh, cursor: '0', nextCursor: '30', hasMore: true, itemCount: 30 }, soFar, limits)).toEqual({
      kind: 'continue',
      nextCursor: '30',
      emptyStreak: 0,
      staleStreak: 0,
    });
  });

  it('stops at the end when hasMore is false, even with a next cursor', () => {
    expect(decideAfterPage({ ...fresh, cursor: '0', nextCursor: '30', hasMore: false, itemCount: 30 }, soFar, limits)).toMatchObject({ kind: 'stop', reason: 'end' });
  });

  it('stops when the cursor does not advance, goes back, or is missing', () => {
    for (const nextCursor of ['30', '10', null, 'abc']) {
      expect(decideAfterPage({ ...fresh, cursor: '30', nextCursor, hasMore: true, itemCount: 5 }, soFar, limits)).toMatchObject({
        kind: 'stop',
        reason: 'cursor-stalled',
      });
    }
  });

  it('stops after maxEmptyPages empty pages in a row with hasMore true', () => {
    const page = { ...fresh, cursor: '60', nextCursor: '90', hasMore: true, itemCount: 0, newItems: 0 };
    expect(decideAfterPage(page, { ...soFar, emptyStreak: 1 }, limits)).toMatchObject({ kind: 'continue', emptyStreak: 2 });
    expect(decideAfterPage(page, { ...soFar, emptyStreak: 2 }, limits)).toMatchObject({ kind: 'stop', reason: 'empty-pages', emptyStreak: 3 });
    expect(decideAfterPage({ ...page, itemCount: 1, newItems: 1 }, { ...soFar, emptyStreak: 2 }, limits)).toMatchObject({ kind: 'continue', emptyStreak: 0 });
  });

  it('stops at the user limits on pages and items', () => {
    const page = { ...fresh, cursor: '30', nextCursor: '60', hasMore: true, itemCount: 30 };
    expect(decideAfterPage(page, { ...soFar, pages: 1 }, { ...limits, maxPages: 2 })).toMatchObject({ kind: 'stop', reason: 'max-pages' });
    expect(decideAfterPage(page, { ...soFar, pages: 0 }, { ...limits, maxPages: 2 })).toMatchObject({ kind: 'continue' });
    expect(decideAfterPage(page, { ...soFar, items: 30 }, { ...limits, maxItems: 60 })).toMatchObject({ kind: 'stop', reason: 'max-items' });
  });
});

describe('decideAfterPage in incremental mode and with --since', () => {
  const incremental: StopLimits = { ...limits, mode: 'incremental', stalePagesLimit: 2 };
  const page = { ...fresh, cursor: '30', nextCursor: '60', hasMore: true, itemCount: 30 };

  it('stops after stalePagesLimit pages in a row without a new video, counting the streak', () => {
    expect(decideAfterPage({ ...page, newItems: 0 }, soFar, incremental)).toMatchObject({ kind: 'continue', staleStreak: 1 });
    expect(decideAfterPage({ ...page, newItems: 0 }, { ...soFar, staleStreak: 1 }, incremental)).toMatchObject({ kind: 'stop', reason: 'no-new-videos' });
    expect(decideAfterPage({ ...page, newItems: 3 }, { ...soFar, staleStreak: 1 }, incremental)).toMatchObject({ kind: 'continue', staleStreak: 0 });
  });

  it('never stops a full crawl for lack of new videos', () => {
    expect(decideAfterPage({ ...page, newItems: 0 }, { ...soFar, staleStreak: 10 }, limits)).toMatchObject({ kind: 'continue', staleStreak: 11 });
  });

  it('stops once a whole page is older than --since', () => {
    const since = { ...limits, sinceMs: Date.UTC(2026, 0, 1) };
    expect(decideAfterPage({ ...page, newestCreatedAtMs: Date.UTC(2025, 11, 31) }, soFar, since)).toMatchObject({ kind: 'stop', reason: 'since' });
    expect(decideAfterPage({ ...page, newestCreatedAtMs: Date.UTC(2026, 0, 2) }, soFar, since)).toMatchObject({ kind: 'continue' });
  });
});

describe('cursorAdvances', () => {
  it('compares cursors as big integers, not as text or floats', () => {
    expect(cursorAdvances('9', '10')).toBe(true);
    expect(cursorAdvances('9007199254740993', '9007199254740992')).toBe(false);
    expect(cursorAdvances('9007199254740992', '9007199254740993')).toBe(true);
    expect(cursorAdvances('-1', '5')).toBe(false);
  });
});
