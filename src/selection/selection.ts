import type { HashtagRef } from '../crawlora/hashtag-ref.js';
import type { Db } from '../db/client.js';
import { findHashtagsById, findHashtagsByName } from '../db/hashtags.js';
import { carriedHashtagsSql } from './carried-hashtags.js';
import { formatMatch, matchRefs, type MatchExpression } from './match.js';
import type { SqlParams } from './sql-params.js';

/**
 * Which archived (hashtag, video) rows an export, package or stats reads: those of the given
 * hashtags (all when null), of videos created since a date, whose video satisfies `--match`.
 */
export interface Selection {
  hashtagIds: string[] | null;
  since: Date | null;
  match: ResolvedMatch | null;
}

/** How one hashtag of an expression is recognised on a video: the ids and the name it is known by. */
export interface TagKeys {
  ids: string[];
  name: string | null;
}

export interface ResolvedMatch {
  expression: MatchExpression;
  /** By `formatMatch` of the tag. */
  keys: Map<string, TagKeys>;
}

/**
 * A hashtag given by name is also known by its id where the name was resolved (the `hashtags`
 * cache), and one given by id by its cached name, so either spelling finds the same videos. A name
 * never resolved still matches the videos that carry it: it is not an error.
 */
export async function resolveMatch(db: Db, expression: MatchExpression): Promise<ResolvedMatch> {
  const refs = matchRefs(expression);
  const names = refs.flatMap((ref) => (ref.kind === 'name' ? [ref.name] : []));
  const ids = refs.flatMap((ref) => (ref.kind === 'id' ? [ref.id] : []));
  const [byName, byId] = await Promise.all([findHashtagsByName(db, names), findHashtagsById(db, ids)]);
  const idOf = new Map(byName.map((row) => [row.name, row.id]));
  const nameOf = new Map(byId.map((row) => [row.id, row.name]));
  const keysOf = (ref: HashtagRef): TagKeys => {
    if (ref.kind === 'id') return { ids: [ref.id], name: nameOf.get(ref.id) ?? null };
    const id = idOf.get(ref.name);
    return { ids: id === undefined ? [] : [id], name: ref.name };
  };
  return { expression, keys: new Map(refs.map((ref) => [formatMatch({ op: 'tag', ref }), keysOf(ref)])) };
}

/** Aliases of the statement the condition goes into. */
export interface SelectionAliases {
  hashtagVideos: string;
  videos: string;
}

/** The WHERE condition over `hashtag_videos` joined with `videos` that keeps the selected rows. */
export function selectionCondition(selection: Selection, params: SqlParams, { hashtagVideos, videos }: SelectionAliases): string {
  const conditions: string[] = [];
  if (selection.hashtagIds !== null) conditions.push(`${hashtagVideos}.hashtag_id = any(${params.add(selection.hashtagIds, 'text[]')})`);
  if (selection.since !== null) conditions.push(`${videos}.create_time >= ${params.add(selection.since.toISOString(), 'timestamptz')}`);
  if (selection.match !== null) conditions.push(matchCondition(selection.match, params, `${videos}.id`, `${videos}.raw`));
  return conditions.length === 0 ? 'true' : conditions.join(' and ');
}

/**
 * The expression over three arrays computed once per video: the hashtags it is archived under,
 * and the ids and names it carries. Empty arrays, never null, so NOT keeps its meaning
 * (`x = any('{}')` is false; `x = any(null)` would be null, and NOT null is not true).
 */
function matchCondition(match: ResolvedMatch, params: SqlParams, videoId: string, raw: string): string {
  const term = (expression: MatchExpression): string => {
    switch (expression.op) {
      case 'tag': {
        const keys = match.keys.get(formatMatch(expression))!;
        const tests = keys.ids.flatMap((id) => {
          const placeholder = params.add(id, 'text');
          return [`${placeholder} = any(archived.ids)`, `${placeholder} = any(carried.ids)`];
        });
        if (keys.name !== null) tests.push(`${params.add(keys.name, 'text')} = any(carried.names)`);
        return `(${tests.join(' or ')})`;
      }
      case 'not':
        return `(not ${term(expression.operand)})`;
      default:
        return `(${term(expression.left)} ${expression.op} ${term(expression.right)})`;
    }
  };
  return `exists (
    select 1
    from (select coalesce(array_agg(x.hashtag_id), '{}') as ids from hashtag_videos x where x.video_id = ${videoId}) archived,
         (select coalesce(array_agg(t.id) filter (where t.id is not null), '{}') as ids,
                 coalesce(array_agg(t.name) filter (where t.name is not null), '{}') as names
          from (${carriedHashtagsSql(raw)}) t) carried
    where ${term(match.expression)})`;
}

/** What the selection is, in words a dataset's provenance or a stats header can carry. */
export function describeSelection(selection: Selection): { hashtagIds: string[] | null; since: string | null; match: string | null } {
  return {
    hashtagIds: selection.hashtagIds,
    since: selection.since?.toISOString() ?? null,
    match: selection.match === null ? null : formatMatch(selection.match.expression),
  };
}
