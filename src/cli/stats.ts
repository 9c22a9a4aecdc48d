import Table from 'cli-table3';
import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { hashtagStats, TOP_VIDEOS, type HashtagStats } from '../db/hashtag-stats.js';
import { RUN_STATUSES } from '../db/schema.js';
import { coverageCell, type Coverage } from '../coverage/coverage.js';
import { selectionStats } from '../db/selection-stats.js';
import { configFrom, withDatabase } from './context.js';
import { addMatchOption, resolveSelection, selectionRequest } from './selection-options.js';
import { terminalText } from './terminal-text.js';

/** Wide enough to recognise a video, narrow enough for the table to fit a terminal. */
const DESCRIPTION_CHARS = 60;

export function statsCommand(): Command {
  return addMatchOption(
    new Command('stats')
      .description(`what the archive holds for a hashtag (or a --match selection): videos, authors, plays, the top ${TOP_VIDEOS} videos, runs so far`)
      .argument('[hashtags...]', 'hashtag id or name already crawled, e.g. 3242 or #christmas (several, or none, with --match)')
      .option('--json', 'print JSON instead of text'),
  ).action(async (args: string[], flags: { json?: boolean; match?: string }, command: Command) => {
    const request = selectionRequest(args, flags.match, null);
    if (request.match === null && args.length > 1) {
      throw new ConfigError('stats takes one hashtag; to add up several, select them with --match, e.g. --match "christmas OR xmas"');
    }
    await withDatabase(configFrom(command), async (database) => {
      const selection = await resolveSelection(database.reads, request);
      const print = (stats: object, text: string) => process.stdout.write(flags.json ? `${JSON.stringify(stats, null, 2)}\n` : `${terminalText(text)}\n`);
      if (selection.match === null) {
        const stats = await hashtagStats(database.reads, selection.hashtagIds![0]!);
        print(stats, renderHashtagStats(stats, `hashtag      ${stats.hashtagId}`));
        return;
      }
      const runHashtags = selection.hashtagIds ?? [...selection.match.keys.values()].flatMap((keys) => keys.ids);
      const stats = await selectionStats(database.reads, database.readPool, selection, runHashtags);
      const { hashtagIds, match } = stats.selection;
      print(stats, renderHashtagStats(stats, `selection    ${hashtagIds === null ? 'all hashtags' : hashtagIds.join(' ')}, matching ${match}`));
    });
  });
}

/** `heading`: the first line, naming what the figures are of; coverage is a hashtag's, so a selection has none. */
export function renderHashtagStats(stats: Omit<HashtagStats, 'hashtagId' | 'coverage'> & { coverage?: Coverage }, heading: string): string {
  const number = (value: number) => value.toLocaleString('en-US');
  const { runs } = stats;
  const statusCounts = RUN_STATUSES.filter((status) => runs.byStatus[status] > 0).map((status) => `${runs.byStatus[status]} ${status}`);
  const lastRun = runs.last
    ? `; last #${runs.last.id} ${runs.last.status}${runs.last.stopReason ? ` (${runs.last.stopReason})` : ''}, ` +
      `${number(runs.last.items)} items, ${number(runs.last.newItems)} new, started ${runs.last.createdAt.toISOString()}`
    : '';
  const lines = [
    heading,
    `videos       ${number(stats.videos)}`,
    `authors      ${number(stats.authors)}`,
    `first seen   ${stats.firstSeenAt?.toISOString() ?? '-'}`,
    `last seen    ${stats.lastSeenAt?.toISOString() ?? '-'}`,
    `total plays  ${number(stats.totalPlays)}`,
    `runs         ${number(runs.total)}${statusCounts.length > 0 ? ` (${statusCounts.join(', ')})` : ''}${lastRun}`,
    ...(stats.coverage === undefined ? [] : coverageLines(stats.coverage)),
  ];
  if (stats.topVideos.length === 0) return lines.join('\n');
  const table = new Table({ head: ['video', 'author', 'plays', 'description'], style: { head: [], border: [] } });
  for (const video of stats.topVideos) {
    table.push([
      video.id,
      video.authorUniqueId ?? '',
      video.playCount === null ? '' : number(video.playCount),
      shorten(video.description ?? '', DESCRIPTION_CHARS),
    ]);
  }
  return [...lines, '', `top ${stats.topVideos.length} videos by plays`, table.toString()].join('\n');
}

/** What the archive holds against what the hashtag reports, and where the rest went. */
export function coverageLines(coverage: Coverage): string[] {
  const number = (value: number) => value.toLocaleString('en-US');
  const lines = [`coverage     ${coverageCell(coverage)}${coverage.explanation ? `; ${coverage.explanation}` : ''}`];
  if (coverage.estimatedTotal !== null) {
    const cost = coverage.creditsPerNewVideo === null ? 'the last pass found no new video' : `the last pass cost ${coverage.creditsPerNewVideo.toFixed(2)} credits a new video`;
    lines.push(`estimated    ~${number(coverage.estimatedTotal)} videos in the feed (capture–recapture over repeated passes); ${cost}`);
  }
  lines.push(`gaps         ${number(coverage.fatalItems)} listed but not loaded (fatal items), ${number(coverage.missing)} no longer listed (missing since the last full crawl)`);
  return lines;
}

/** One line of at most `maxChars` user-perceived characters: an emoji is never cut in half. */
export function shorten(text: string, maxChars: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  const graphemes = [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(oneLine)].map((part) => part.segment);
  return graphemes.length <= maxChars ? oneLine : `${graphemes.slice(0, maxChars - 1).join('').trimEnd()}…`;
}
