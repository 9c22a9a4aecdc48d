import Table from 'cli-table3';
import { Command } from 'commander';
import { hashtagRefLabel, parseHashtagName } from '../crawlora/hashtag-ref.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import type { Resolution, ResolvedRef } from '../hashtags/resolver.js';
import { configFrom, requireApiKey, withApp } from './context.js';
import { terminalText } from './terminal-text.js';

export function resolveCommand(): Command {
  return new Command('resolve')
    .description(`show the id, title, videos and views of hashtag names; a name costs ${CREDITS_PER_REQUEST} credits the first time, nothing once cached`)
    .argument('<names...>', 'hashtag names, e.g. christmas or #christmas (digits alone are read as a name here)')
    .option('--refresh', `ask Crawlora again even for cached names (${CREDITS_PER_REQUEST} credits each)`)
    .option('--json', 'print JSON, with the whole detail Crawlora returned')
    .action(async (rawNames: string[], flags: { refresh?: boolean; json?: boolean }, command: Command) => {
      const names = rawNames.map(parseHashtagName);
      const config = requireApiKey(configFrom(command));
      await withApp(config, async (app) => {
        // The pace and caps in force now, in case `plan set` changed them since start-up.
        await app.settings.refresh();
        const resolutions = await app.hashtags.resolve(names, { refresh: flags.refresh === true });
        const json = resolutions.map(({ hashtag, fromCache }) => ({ ...hashtag, fromCache }));
        process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${terminalText(renderResolutions(resolutions))}\n`);
      });
    });
}

export function renderResolutions(resolutions: Resolution[]): string {
  const number = (value: number | null) => (value === null ? '-' : value.toLocaleString('en-US'));
  const table = new Table({ head: ['name', 'id', 'title', 'videos', 'views', 'resolved at', 'source'], style: { head: [], border: [] } });
  for (const { hashtag, fromCache } of resolutions) {
    table.push([
      `#${hashtag.name}`,
      hashtag.id,
      hashtag.title ?? '',
      number(hashtag.videoCount),
      number(hashtag.viewCount),
      hashtag.resolvedAt.toISOString(),
      fromCache ? 'cache' : `Crawlora (${CREDITS_PER_REQUEST} credits)`,
    ]);
  }
  return table.toString();
}

/** One line saying which id each name stands for, so a crawl by name shows what it archives; null without names. */
export function renderNameMapping(hashtags: ResolvedRef[]): string | null {
  const names = hashtags.filter((hashtag) => hashtag.ref.kind === 'name');
  if (names.length === 0) return null;
  const shown = names.slice(0, 10).map((hashtag) => `${hashtagRefLabel(hashtag.ref)} → ${hashtag.id} (${hashtag.resolvedNow ? `resolved, ${CREDITS_PER_REQUEST} credits` : 'cached'})`);
  return `hashtags: ${shown.join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}`;
}
