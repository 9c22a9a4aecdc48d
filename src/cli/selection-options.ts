import type { Command } from 'commander';
import { ConfigError } from '../config.js';
import { parseHashtagRef, type HashtagRef } from '../crawlora/hashtag-ref.js';
import type { Db } from '../db/client.js';
import { requireArchived } from '../db/hashtag-stats.js';
import { cachedHashtagIds } from '../hashtags/lookup.js';
import { parseMatch, type MatchExpression } from '../selection/match.js';
import { resolveMatch, type Selection } from '../selection/selection.js';

export const MATCH_HELP =
  'only videos whose hashtags (archived under, or carried in challenges) satisfy this, e.g. "christmas AND (fyp OR foryou) NOT ad"';

/** `--match` for export, package and stats: the same flag and help everywhere. */
export function addMatchOption(command: Command): Command {
  return command.option('--match <expression>', MATCH_HELP);
}

/** What the command line asks for, checked before anything connects. */
export interface SelectionRequest {
  refs: HashtagRef[];
  match: MatchExpression | null;
  since: Date | null;
}

export function selectionRequest(args: string[], match: string | undefined, since: Date | null): SelectionRequest {
  const expression = match === undefined ? null : parseMatch(match);
  if (args.length === 0 && expression === null) {
    throw new ConfigError('give hashtags (ids or names already crawled), or --match "…" to select across the archive, or both');
  }
  return { refs: args.map(parseHashtagRef), match: expression, since };
}

/**
 * Hashtags given as arguments must be in the archive (a typo is an error); without any, the
 * selection spans every archived hashtag and `--match` alone decides.
 */
export async function resolveSelection(db: Db, request: SelectionRequest): Promise<Selection> {
  let hashtagIds: string[] | null = null;
  if (request.refs.length > 0) {
    hashtagIds = await cachedHashtagIds(db, request.refs);
    await requireArchived(db, hashtagIds);
  }
  const match = request.match === null ? null : await resolveMatch(db, request.match);
  return { hashtagIds, since: request.since, match };
}
