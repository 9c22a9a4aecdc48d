import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { formatMatch, MatchSyntaxError, parseMatch, type MatchExpression } from '../src/selection/match.js';

const tag = (name: string): MatchExpression => ({ op: 'tag', ref: { kind: 'name', name } });
const id = (value: string): MatchExpression => ({ op: 'tag', ref: { kind: 'id', id: value } });

function positionOf(source: string): number {
  try {
    parseMatch(source);
  } catch (err) {
    expect(err).toBeInstanceOf(MatchSyntaxError);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).toMatch(new RegExp(`^--match: position ${(err as MatchSyntaxError).position}: `));
    return (err as MatchSyntaxError).position;
  }
  throw new Error(`'${source}' parsed`);
}

describe('--match grammar', () => {
  it('reads the issue\'s example: OR inside parentheses, infix NOT as AND NOT', () => {
    expect(parseMatch('christmas AND (fyp OR foryou) NOT ad')).toEqual({
      op: 'and',
      left: { op: 'and', left: tag('christmas'), right: { op: 'or', left: tag('fyp'), right: tag('foryou') } },
      right: { op: 'not', operand: tag('ad') },
    });
  });

  it('binds AND tighter than OR, prefix NOT tightest; operators in any case; ids, #names, any script', () => {
    expect(parseMatch('a or b and not c')).toEqual({
      op: 'or',
      left: tag('a'),
      right: { op: 'and', left: tag('b'), right: { op: 'not', operand: tag('c') } },
    });
    expect(parseMatch('  3242 AND #Noël  ')).toEqual({ op: 'and', left: id('3242'), right: tag('noël') });
    expect(parseMatch('#and OR android OR notes')).toEqual({ op: 'or', left: { op: 'or', left: tag('and'), right: tag('android') }, right: tag('notes') });
    expect(parseMatch('#2024')).toEqual(tag('2024'));
  });

  it('a malformed expression is one line naming the position of the fault', () => {
    expect(positionOf('christmas AND (fyp OR')).toBe(22);
    expect(positionOf('christmas fyp')).toBe(11);
    expect(positionOf('AND fyp')).toBe(1);
    expect(positionOf('fyp)')).toBe(4);
    expect(positionOf('(fyp')).toBe(5);
    expect(positionOf('')).toBe(1);
    expect(positionOf('fyp OR foryou!')).toBe(14);
    expect(positionOf(`fyp AND #${'x'.repeat(101)}`)).toBe(9);
  });

  it('says what was expected and what was found', () => {
    expect(() => parseMatch('christmas AND (fyp OR')).toThrow(
      /^--match: position 22: expected .*a hashtag.* but found the end \(in 'christmas AND \(fyp OR'\); combine hashtags with AND, OR, NOT/,
    );
    expect(() => parseMatch('christmas fyp')).toThrow(/position 11: expected .*'AND'.*'OR'.* but found 'f'/);
  });

  it('reads back what formatMatch writes, for any expression', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/).filter((text) => !['and', 'or', 'not'].includes(text));
    const leaf = fc.oneof(name.map(tag), fc.stringMatching(/^[1-9][0-9]{0,9}$/).map(id));
    const expression = fc.letrec<{ node: MatchExpression }>((self) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        self('node').map((operand) => ({ op: 'not', operand }) as const),
        fc.tuple(fc.constantFrom('and', 'or') as fc.Arbitrary<'and' | 'or'>, self('node'), self('node')).map(([op, left, right]) => ({ op, left, right })),
      ),
    })).node;
    fc.assert(fc.property(expression, (tree) => {
      expect(parseMatch(formatMatch(tree))).toEqual(tree);
    }), { numRuns: 300 });
  });
});
