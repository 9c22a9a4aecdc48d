import { Command } from 'commander';
import { positiveInt } from '../config.js';
import { parseHashtagId } from '../crawlora/hashtag-id.js';
import { startCrawl } from '../queue/start-crawl.js';
import { configFrom, requireApiKey, withApp } from './context.js';
import { renderRunsTable } from './runs-table.js';
import { watchRuns } from './watch-runs.js';

interface CrawlFlags {
  wait?: boolean;
  maxPages?: string;
  maxItems?: string;
  concurrency?: string;
}

export function crawlCommand(): Command {
  return new Command('crawl')
    .description('archive every video of the given hashtags: one run per hashtag, pages fetched by workers')
    .argument('<hashtagIds...>', 'numeric hashtag ids, e.g. 3242')
    .option('--wait', 'run a worker in this process, show progress, and exit when every run has ended')
    .option('--max-pages <n>', 'stop each run after this many pages')
    .option('--max-items <n>', 'stop each run once it has this many items')
    .option('--concurrency <n>', 'pages fetched at once by the --wait worker (HA_CONCURRENCY)')
    .action(async (ids: string[], flags: CrawlFlags, command: Command) => {
      const hashtagIds = [...new Set(ids.map(parseHashtagId))];
      const maxPages = flags.maxPages === undefined ? null : positiveInt(flags.maxPages, '--max-pages', 1);
      const maxItems = flags.maxItems === undefined ? null : positiveInt(flags.maxItems, '--max-items', 1);
      const config = requireApiKey(configFrom(command, { HA_CONCURRENCY: flags.concurrency }));
      const allCompleted = await withApp(config, async (app) => {
        const runs = await startCrawl(app.database.db, app.queue, { hashtagIds, maxPages, maxItems });
        process.stdout.write(`queued ${runs.length} run(s): ${runs.map((run) => `#${run.id} (hashtag ${run.hashtagId})`).join(', ')}\n`);
        if (!flags.wait) return true;
        app.startWorker();
        const finished = await watchRuns(app.database.db, runs.map((run) => run.id));
        process.stdout.write(`${renderRunsTable(finished)}\n`);
        return finished.every((run) => run.status === 'completed');
      });
      if (!allCompleted) process.exitCode = 1;
    });
}
