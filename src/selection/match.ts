import { readFileSync } from 'node:fs';
import peggy from 'peggy';
import { ConfigError } from '../config.js';
import { parseHashtagRef, type HashtagRef } from '../crawlora/hashtag-ref.js';

/** A parsed `--match` expression: hashtags combined with AND, OR and NOT. */
export type MatchExpression =
  | { op: 'tag'; ref: HashtagRef }
  | { op: 'not'; operand: MatchExpression }
  | { op: 'and' | 'or'; left: MatchExpression; right: MatchExpression };

/** What the grammar's actions build: hashtags still as written, with where they start. */
type ParsedExpression =
  | { op: 'tag'; text: string; offset: number }
  | { op: 'not'; operand: ParsedExpression }
  | { op: 'and' | 'or'; left: ParsedExpression; right: ParsedExpression };

/** A malformed `--match`: the message names the 1-based character position of the fault. */
export class MatchSyntaxError extends ConfigError {
  override name = 'MatchSyntaxError';
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

let parser: peggy.Parser | undefined;

/** The grammar is compiled on first use (a few ms), so commands without --match never pay for it. */
function matchParser(): peggy.Parser {
  parser ??= peggy.generate(readFileSync(new URL('./match.peggy', import.meta.url), 'utf8'));
  return parser;
}

export function parseMatch(source: string): MatchExpression {
  let parsed: ParsedExpression;
  try {
    parsed = matchParser().parse(source) as ParsedExpression;
  } catch (err) {
    if (err instanceof matchParser().SyntaxError) throw syntaxError(source, err);
    throw err;
  }
  return withRefs(source, parsed);
}

function withRefs(source: string, expression: ParsedExpression): MatchExpression {
  switch (expression.op) {
    case 'tag':
      try {
        return { op: 'tag', ref: parseHashtagRef(expression.text) };
      } catch (err) {
        const position = expression.offset + 1;
        throw new MatchSyntaxError(`--match: position ${position}: ${(err as Error).message} (in '${oneLine(source)}')`, position);
      }
    case 'not':
      return { op: 'not', operand: withRefs(source, expression.operand) };
    default:
      return { op: expression.op, left: withRefs(source, expression.left), right: withRefs(source, expression.right) };
  }
}

/** Peggy's expectations, minus whitespace (always allowed, never the fault), in plain words. */
function syntaxError(source: string, err: peggy.parser.SyntaxError): MatchSyntaxError {
  const position = err.location.start.offset + 1;
  const expected = [
    ...new Set(
      (err.expected ?? [])
        .filter((expectation) => expectation.type !== 'other' || expectation.description !== 'space')
        .map((expectation) => {
          if (expectation.type === 'literal') return `'${expectation.text.toUpperCase()}'`;
          if (expectation.type === 'end') return 'the end';
          if (expectation.type === 'other') return `a ${expectation.description}`;
          return 'a hashtag';
        }),
    ),
  ];
  const found = err.found === null ? 'the end' : `'${err.found}'`;
  const wanted = expected.length <= 1 ? (expected[0] ?? 'nothing') : `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}`;
  return new MatchSyntaxError(
    `--match: position ${position}: expected ${wanted} but found ${found} (in '${oneLine(source)}'); combine hashtags with AND, OR, NOT and parentheses, e.g. "christmas AND (fyp OR foryou) NOT ad"`,
    position,
  );
}

function oneLine(text: string): string {
  return text.replace(/\s/g, ' ');
}

/** Every hashtag the expression names, once each, in order of appearance. */
export function matchRefs(expression: MatchExpression): HashtagRef[] {
  const refs = new Map<string, HashtagRef>();
  const visit = (node: MatchExpression): void => {
    if (node.op === 'tag') refs.set(node.ref.kind === 'id' ? `id:${node.ref.id}` : `name:${node.ref.name}`, node.ref);
    else if (node.op === 'not') visit(node.operand);
    else {
      visit(node.left);
      visit(node.right);
    }
  };
  visit(expression);
  return [...refs.values()];
}

/** The expression written back in the grammar's syntax, fully parenthesised: parseMatch reads it back to the same tree. */
export function formatMatch(expression: MatchExpression): string {
  switch (expression.op) {
    case 'tag':
      return expression.ref.kind === 'id' ? expression.ref.id : `#${expression.ref.name}`;
    case 'not':
      return `NOT ${formatMatch(expression.operand)}`;
    default:
      return `(${formatMatch(expression.left)} ${expression.op.toUpperCase()} ${formatMatch(expression.right)})`;
  }
}
