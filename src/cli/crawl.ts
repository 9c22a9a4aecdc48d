import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { positiveInt } from '../config.js';
import { InvalidInputError } from '../crawlora/errors.js';
import { isHashtagRef, parseHashtagRef, type HashtagRef } from '../crawlora/hashtag-ref.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import type { Db } from '../db/client.js';
import { runsOfSeries } from '../db/runs.js';
import { CRAWL_MODES, type CrawlMode, type CrawlRun } from '../db/schema.js';
import { renderCostEstimate } from '../hashtags/cost-estimate.js';
import { crawlCostEstimate } from '../hashtags/dry-run.js';
import type { ResolvedRef } from '../hashtags/resolver.js';
import { startCrawl } from '../queue/start-crawl.js';
import { configFrom, requireApiKey, withApp } from './context.js';
import { parseHashtagFile } from './hashtag-file.js';
import { parseSince } from './since.js';
import { renderNameMapping } from './resolve.js';
import { renderRunsTable } from './runs-table.js';
import { watchRuns } from './watch-runs.js';
import { terminalText } from './terminal-text.js';

interface CrawlFlags {
  wait?: boolean;
  maxPages?: string;
  maxItems?: string;
  budgetCredits?: string;
  mode: CrawlMode;
  since?: string;
  fromFile?: string;
  priority?: string;
  concurrency?: string;
  dryRun?: boolean;
  passes?: string;
  minNew?: string;
}

/** `--min-new` unless given: a pass that grows the archive by less than 1 % ends the series. */
export const DEFAULT_MIN_NEW_PERCENT = 1;

export function crawlCommand(): Command {
  return new Command('crawl')
    .description('archive every video of the given hashtags: one run per hashtag, pages fetched by workers')
    .argument('[hashtags...]', `hashtag ids or names, e.g. 3242, christmas or #christmas (a name not cached yet costs ${CREDITS_PER_REQUEST} credits to resolve)`)
    .option('--from-file <file>', "read hashtags from a file, one a line ('# ' starts a comment)")
    .option('--wait', 'run a worker in this process, show progress, and exit when every run has ended')
    .option('--max-pages <n>', 'stop each run after this many pages')
    .option('--max-items <n>', 'stop each run once it has this many items')
    .option('--budget-credits <n>', 'pause a run before it spends more than this many credits')
    .addOption(new Option('--mode <mode>', 'full: every page; incremental: stop once pages bring no new video').choices(CRAWL_MODES).default('full'))
    .option('--since <date>', 'stop once a whole page is older than this date: YYYY-MM-DD or an ISO 8601 time, UTC unless it carries an offset')
    .option('--priority <n>', 'BullMQ priority of these runs: 1 goes first (runs without one go before all prioritized runs)')
    .option('--concurrency <n>', 'most pages in flight in the --wait worker (HA_CONCURRENCY, default 160)')
    .option('--passes <n>', 'crawl each hashtag n times in a row (full passes): the feed lists a different part each time; the passes estimate its true size')
    .option('--min-new <percent>', `with --passes: stop the series after a pass that adds fewer new videos than this % of the archived ones (default ${DEFAULT_MIN_NEW_PERCENT})`)
    .option('--dry-run', 'resolve names and print what a full archive would take (pages, credits, time, against the plan); queue nothing')
    .action(async (args: string[], flags: CrawlFlags, command: Command) => {
      const refs = await hashtagRefsFrom(args, flags.fromFile);
      const maxPages = optionalInt(flags.maxPages, '--max-pages');
      const budgetCredits = optionalInt(flags.budgetCredits, '--budget-credits');
      const priority = optionalInt(flags.priority, '--priority');
      const passes = passSeries(flags);
      const options = {
        maxPages,
        maxItems: optionalInt(flags.maxItems, '--max-items'),
        budgetCredits,
        mode: flags.mode,
        since: flags.since === undefined ? null : parseSince(flags.since),
        trigger: 'cli',
        ...passes,
        ...(priority === null ? {} : { priority }),
      };
      if (passes.passes !== null && (options.maxPages !== null || options.maxItems !== null || options.budgetCredits !== null || options.mode !== 'full' || options.since !== null)) {
        throw new InvalidInputError('--passes: each pass is a full crawl of the whole feed; drop --max-pages, --max-items, --budget-credits, --since and --mode incremental');
      }
      const config = requireApiKey(configFrom(command, { HA_CONCURRENCY: flags.concurrency }));
      const allCompleted = await withApp(config, async (app) => {
        // The pace and caps in force now, in case `plan set` changed them since start-up.
        const plan = await app.settings.refresh();
        const hashtags = uniqueById(await app.hashtags.resolveRefs(refs));
        if (flags.dryRun) {
          const estimate = await crawlCostEstimate(
            app.database.db,
            plan,
            config.apiKeys,
            hashtags,
            { maxPages, maxItems: options.maxItems, budgetCredits },
            { passes: passes.passes ?? 1, coverageLookups: config.coverageLookups },
          );
          process.stdout.write(`${terminalText(renderCostEstimate(estimate))}\n`);
          return true;
        }
        const mapping = renderNameMapping(hashtags);
        if (mapping) process.stdout.write(`${terminalText(mapping)}\n`);
        const estimate = costEstimate(hashtags.length, maxPages, budgetCredits);
        if (estimate) process.stdout.write(`${estimate}\n`);
        const runs = await startCrawl(app.database.db, app.queue, { hashtagIds: hashtags.map((hashtag) => hashtag.id), ...options });
        process.stdout.write(runs.length <= 10
          ? `queued ${runs.length} run(s): ${runs.map((run) => `#${run.id} (hashtag ${run.hashtagId})`).join(', ')}\n`
          : `queued ${runs.length} runs (#${runs[0]!.id} to #${runs.at(-1)!.id})\n`);
        if (!flags.wait) return true;
        app.startWorker();
        const finished = await watchSeries(app.database.db, runs.map((run) => run.id));
        process.stdout.write(`${terminalText(renderRunsTable(finished))}\n`);
        return finished.every((run) => run.status === 'completed');
      });
      if (!allCompleted) process.exitCode = 1;
    });
}

/** Until every run and every pass it started has ended: a pass that completes has already added the next one. */
async function watchSeries(db: Db, runIds: number[]): Promise<CrawlRun[]> {
  for (let ids = runIds; ; ) {
    const finished = await watchRuns(db, ids);
    const series = await runsOfSeries(db, ids);
    if (series.length === ids.length) return finished;
    ids = series.map((run) => run.id);
  }
}

/** Every hashtag is checked before anything is resolved, so a typo costs nothing. */
async function hashtagRefsFrom(args: string[], fromFile: string | undefined): Promise<HashtagRef[]> {
  const fromArgs = args.map(parseHashtagRef);
  let fromFileRefs: HashtagRef[] = [];
  if (fromFile !== undefined) {
    let text: string;
    try {
      text = await readFile(fromFile, 'utf8');
    } catch (cause) {
      throw new InvalidInputError(`--from-file: cannot read '${fromFile}' (${(cause as NodeJS.ErrnoException).code ?? 'error'}); check the path`, { cause });
    }
    fromFileRefs = parseHashtagFile(fromFile, text, isHashtagRef).map(parseHashtagRef);
  }
  const all = [...fromArgs, ...fromFileRefs];
  if (all.length === 0) throw new InvalidInputError('no hashtag given; pass hashtag ids or names (e.g. crawl 3242 christmas) or --from-file FILE');
  return all;
}

/** A hashtag given twice (or by name and by id) is crawled once. */
function uniqueById(hashtags: ResolvedRef[]): ResolvedRef[] {
  const seen = new Set<string>();
  return hashtags.filter((hashtag) => {
    if (seen.has(hashtag.id)) return false;
    seen.add(hashtag.id);
    return true;
  });
}

/** --passes and --min-new as the runs store them; a series of one pass is a plain crawl. */
function passSeries(flags: CrawlFlags): { passes: number | null; minNewRatio: number | null } {
  const passes = optionalInt(flags.passes, '--passes');
  if (flags.minNew !== undefined && passes === null) throw new InvalidInputError('--min-new: only means something with --passes N; add it or drop --min-new');
  if (passes === null || passes === 1) return { passes: null, minNewRatio: null };
  const percent = flags.minNew === undefined ? DEFAULT_MIN_NEW_PERCENT : Number(flags.minNew);
  if (flags.minNew !== undefined && (!/^\d+(\.\d+)?$/.test(flags.minNew.trim()) || percent > 100)) {
    throw new InvalidInputError(`--min-new: '${flags.minNew}' is not a percentage from 0 to 100; give one such as ${DEFAULT_MIN_NEW_PERCENT}`);
  }
  return { passes, minNewRatio: percent / 100 };
}

function optionalInt(raw: string | undefined, flag: string): number | null {
  return raw === undefined ? null : positiveInt(raw, flag, 1);
}

/** Only bounded runs can be priced before they start; unbounded ones show their cost as they go. */
export function costEstimate(runs: number, maxPages: number | null, budgetCredits: number | null): string | null {
  if (maxPages === null && budgetCredits === null) return null;
  const perRun = Math.min(maxPages === null ? Infinity : maxPages * CREDITS_PER_REQUEST, budgetCredits ?? Infinity);
  return `cost estimate: at most ${runs * perRun} credits (${runs} run(s) × ${perRun} credits, ${CREDITS_PER_REQUEST} per page)`;
}
