import { Command } from 'commander';
import { positiveInt } from '../config.js';
import { coverageOfLatestRuns } from '../db/coverage.js';
import { listRuns } from '../db/runs.js';
import { configFrom, withDatabase } from './context.js';
import { renderRunsTable } from './runs-table.js';
import { terminalText } from './terminal-text.js';

export function runsCommand(): Command {
  return new Command('runs')
    .description('list the latest crawl runs: status, pages, items, new items, credits, age')
    .option('--limit <n>', 'how many runs to show', '20')
    .action(async (flags: { limit: string }, command: Command) => {
      const limit = positiveInt(flags.limit, '--limit', 20);
      await withDatabase(configFrom(command), async (database) => {
        const runs = await listRuns(database.db, limit);
        const coverage = await coverageOfLatestRuns(database.db, runs);
        process.stdout.write(runs.length === 0 ? 'no runs yet\n' : `${terminalText(renderRunsTable(runs, Date.now(), coverage))}\n`);
      });
    });
}
