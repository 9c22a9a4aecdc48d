import { describe, expect, it } from 'vitest';
import { cursorAdvances, decideAfterPage, type StopLimits } from '../src/queue/decide.js';

const limits: StopLimits = { maxPages: null, maxItems: null, maxEmptyPages: 3 };
const soFar = { pages: 0, items: 0, emptyStreak: 0 };

describe('decideAfterPage', () => {
  it('continues with the next cursor while hasMore holds', () => {
    expect(decideAfterPage({ cursor: '0', nextCursor: '30', hasMore: true, itemCount: 30 }, soFar, limits)).toEqual({
      kind: 'continue',
      nextCursor: '30',
      emptyStreak: 0,
    });
  });

  it('stops at the end when hasMore is false, even with a next cursor', () => {
    expect(decideAfterPage({ cursor: '0', nextCursor: '30', hasMore: false, itemCount: 30 }, soFar, limits)).toMatchObject({ kind: 'stop', reason: 'end' });
  });

  it('stops when the cursor does not advance, goes back, or is missing', () => {
    for (const nextCursor of ['30', '10', null, 'abc']) {
      expect(decideAfterPage({ cursor: '30', nextCursor, hasMore: true, itemCount: 5 }, soFar, limits)).toMatchObject({
        kind: 'stop',
        reason: 'cursor-stalled',
      });
    }
  });

  it('stops after maxEmptyPages empty pages in a row with hasMore true', () => {
    const page = { cursor: '60', nextCursor: '90', hasMore: true, itemCount: 0 };
    expect(decideAfterPage(page, { ...soFar, emptyStreak: 1 }, limits)).toMatchObject({ kind: 'continue', emptyStreak: 2 });
    expect(decideAfterPage(page, { ...soFar, emptyStreak: 2 }, limits)).toMatchObject({ kind: 'stop', reason: 'empty-pages', emptyStreak: 3 });
    expect(decideAfterPage({ ...page, itemCount: 1 }, { ...soFar, emptyStreak: 2 }, limits)).toMatchObject({ kind: 'continue', emptyStreak: 0 });
  });

  it('stops at the user limits on pages and items', () => {
    const page = { cursor: '30', nextCursor: '60', hasMore: true, itemCount: 30 };
    expect(decideAfterPage(page, { ...soFar, pages: 1 }, { ...limits, maxPages: 2 })).toMatchObject({ kind: 'stop', reason: 'max-pages' });
    expect(decideAfterPage(page, { ...soFar, pages: 0 }, { ...limits, maxPages: 2 })).toMatchObject({ kind: 'continue' });
    expect(decideAfterPage(page, { ...soFar, items: 30 }, { ...limits, maxItems: 60 })).toMatchObject({ kind: 'stop', reason: 'max-items' });
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
