import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/crawlora/errors.js';
import { hashtagRefLabel, isHashtagRef, parseHashtagName, parseHashtagRef } from '../src/crawlora/hashtag-ref.js';

describe('parseHashtagRef', () => {
  it('reads digits as an id', () => {
    expect(parseHashtagRef(' 3242 ')).toEqual({ kind: 'id', id: '3242' });
    expect(parseHashtagRef('7283746192837461928')).toEqual({ kind: 'id', id: '7283746192837461928' });
  });

  it('reads a name with or without # in any case as the same lower-case name', () => {
    for (const input of ['christmas', '#christmas', 'Christmas', '#CHRISTMAS']) {
      expect(parseHashtagRef(input)).toEqual({ kind: 'name', name: 'christmas' });
    }
  });

  it('accepts letters of any script, digits and underscores', () => {
    expect(parseHashtagRef('#Weihnachten_2024')).toEqual({ kind: 'name', name: 'weihnachten_2024' });
    expect(parseHashtagRef('#Noël')).toEqual({ kind: 'name', name: 'noël' });
    expect(parseHashtagRef('クリスマス')).toEqual({ kind: 'name', name: 'クリスマス' });
    expect(parseHashtagRef('#भारत')).toEqual({ kind: 'name', name: 'भारत' });
  });

  it('treats a composed and a decomposed accent as the same name', () => {
    expect(parseHashtagRef('noe\u0308l')).toEqual(parseHashtagRef('no\u00ebl'));
  });

  it('reads digits after # as a name, since hashtags like #2024 exist', () => {
    expect(parseHashtagRef('#2024')).toEqual({ kind: 'name', name: '2024' });
  });

  it.each(['christmas!', 'merry christmas', '#', '##christmas', 'christmas-eve', 'ho.ho', '🎄', ''])('refuses %j with a one-line error', (input) => {
    let error: unknown;
    try {
      parseHashtagRef(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).toMatch(/hashtag/);
    expect(isHashtagRef(input)).toBe(false);
  });

  it('names the refused input and says what a hashtag looks like', () => {
    expect(() => parseHashtagRef('christmas!')).toThrow(/hashtag 'christmas!' is neither a numeric id nor a name.*letters, digits and underscores.*such as 3242/);
  });

  it('refuses names longer than 100 characters', () => {
    expect(() => parseHashtagRef('a'.repeat(101))).toThrow(/longer than 100 characters/);
    expect(parseHashtagRef('a'.repeat(100))).toEqual({ kind: 'name', name: 'a'.repeat(100) });
  });
});

describe('parseHashtagName', () => {
  it('reads digits as a name, for commands that only take names', () => {
    expect(parseHashtagName('2024')).toBe('2024');
  });
});

describe('hashtagRefLabel', () => {
  it('shows names with # and ids as they are', () => {
    expect(hashtagRefLabel({ kind: 'name', name: 'christmas' })).toBe('#christmas');
    expect(hashtagRefLabel({ kind: 'id', id: '3242' })).toBe('3242');
  });
});
