import Table from 'cli-table3';
import { Command, Option } from 'commander';
import { positiveInt } from '../config.js';
import { parseHashtagRef } from '../crawlora/hashtag-ref.js';
import { CREDITS_PER_REQUEST } from '../crawlora/plans.js';
import { coverageCell, type Coverage } from '../coverage/coverage.js';
import { hashtagCoverage } from '../db/coverage.js';
import { cachedHashtagIds } from '../hashtags/lookup.js';
import { scheduleHistories, type ScheduleHistory } from '../db/schedule-events.js';
import { CRAWL_MODES, type CrawlMode } from '../db/schema.js';
import { describeCadence, parseCadence } from '../schedules/cadence.js';
import { listSchedules, removeSchedule, upsertSchedule, type ScheduleEntry } from '../schedules/schedules-queue.js';
import { formatTime } from './format-time.js';
import { configFrom, withApp } from './context.js';
import { terminalText } from './terminal-text.js';

interface AddFlags {
  every?: string;
  cron?: string;
  mode: CrawlMode;
  maxPages?: string;
}

/** `schedule add | list | remove`. Schedules live in Redis; `worker` processes start the runs they call for. */
export function scheduleCommand(): Command {
  return new Command('schedule')
    .description('re-crawl hashtags on a schedule; a firing is skipped while a run of its hashtag is unfinished')
    .addCommand(addCommand().exitOverride())
    .addCommand(listCommand().exitOverride())
    .addCommand(removeCommand().exitOverride());
}

function addCommand(): Command {
  return new Command('add')
    .description('schedule these hashtags (adding one again replaces its schedule); the first firing is one interval or cron slot away')
    .argument('<hashtags...>', `hashtag ids or names, e.g. 3242 or #christmas (a name not cached yet costs ${CREDITS_PER_REQUEST} credits to resolve)`)
    .option('--every <interval>', 'fire at this interval: a number and s, m, h or d, at least 1m (e.g. 6h)')
    .option('--cron <pattern>', 'fire on this cron pattern, read in UTC (e.g. "0 */6 * * *")')
    .addOption(new Option('--mode <mode>', 'full: every page; incremental: stop once pages bring no new video').choices(CRAWL_MODES).default('full'))
    .option('--max-pages <n>', 'stop each scheduled run after this many pages')
    .action(async (args: string[], flags: AddFlags, command: Command) => {
      const refs = args.map(parseHashtagRef);
      const cadence = parseCadence(flags);
      const maxPages = flags.maxPages === undefined ? null : positiveInt(flags.maxPages, '--max-pages', 1);
      await withApp(configFrom(command), async (app) => {
        const hashtagIds = [...new Set((await app.hashtags.resolveRefs(refs)).map((resolved) => resolved.id))];
        for (const hashtagId of hashtagIds) {
          const next = await upsertSchedule(app.schedules, { hashtagId, cadence, mode: flags.mode, maxPages });
          process.stdout.write(`hashtag ${hashtagId}: ${describeCadence(cadence)}, ${flags.mode}; next run ${formatTime(next)}\n`);
        }
      });
    });
}

function listCommand(): Command {
  return new Command('list').description('every schedule: when it fires next, and what it did last').action(async (_flags, command: Command) => {
    await withApp(configFrom(command), async (app) => {
      const entries = await listSchedules(app.schedules);
      const hashtagIds = entries.map((entry) => entry.schedule.hashtagId);
      const histories = await scheduleHistories(app.database.db, hashtagIds);
      const coverage = new Map(await Promise.all(hashtagIds.map(async (id) => [id, await hashtagCoverage(app.database.db, id)] as const)));
      process.stdout.write(
        entries.length === 0 ? "no schedules; add one with 'hashtag-archiver schedule add <hashtagId> --every 6h'\n" : `${terminalText(renderSchedules(entries, histories, coverage))}\n`,
      );
    });
  });
}

function removeCommand(): Command {
  return new Command('remove')
    .description('stop scheduling these hashtags (runs already started go on)')
    .argument('<hashtags...>', 'hashtag ids or names already resolved')
    .action(async (args: string[], _flags, command: Command) => {
      const refs = args.map(parseHashtagRef);
      await withApp(configFrom(command), async (app) => {
        for (const hashtagId of await cachedHashtagIds(app.database.db, refs)) {
          const removed = await removeSchedule(app.schedules, hashtagId);
          process.stdout.write(removed ? `hashtag ${hashtagId}: schedule removed\n` : `hashtag ${hashtagId} had no schedule\n`);
        }
      });
    });
}

export function renderSchedules(entries: ScheduleEntry[], histories: Map<string, ScheduleHistory>, coverage: ReadonlyMap<string, Coverage> = new Map()): string {
  const table = new Table({ head: ['hashtag', 'schedule', 'mode', 'max pages', 'next run', 'last run', 'last firing', 'coverage'], style: { head: [], border: [] } });
  for (const { schedule, nextRunAt } of entries) {
    const { lastRun, lastFiring } = histories.get(schedule.hashtagId) ?? { lastRun: null, lastFiring: null };
    const held = coverage.get(schedule.hashtagId);
    table.push([
      schedule.hashtagId,
      describeCadence(schedule.cadence),
      schedule.mode,
      schedule.maxPages ?? '',
      formatTime(nextRunAt),
      lastRun ? `#${lastRun.id} ${lastRun.status}${lastRun.stopReason ? ` (${lastRun.stopReason})` : ''}` : '-',
      lastFiring ? `${lastFiring.outcome} ${formatTime(lastFiring.firedAt)}${lastFiring.reason ? `: ${lastFiring.reason}` : ''}` : '-',
      held ? coverageCell(held) : '-',
    ]);
  }
  return table.toString();
}
