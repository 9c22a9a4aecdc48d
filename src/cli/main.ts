import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.js';
import { CrawloraError } from '../crawlora/errors.js';
import { ServiceUnavailableError } from '../health.js';
import { crawlCommand } from './crawl.js';
import { demoCommand } from './demo.js';
import { exportCommand } from './export.js';
import { historyCommand } from './history.js';
import { migrateCommand } from './migrate.js';
import { planCommand } from './plan.js';
import { resolveCommand } from './resolve.js';
import { runControlCommands } from './run-control.js';
import { runsCommand } from './runs.js';
import { serveCommand } from './serve.js';
import { scheduleCommand } from './schedule.js';
import { simCommand } from './sim.js';
import { statsCommand } from './stats.js';
import { usageCommand } from './usage.js';
import { workerCommand } from './worker.js';

export function buildProgram(): Command {
  const program = new Command('hashtag-archiver')
    .description('Archive every video listed under TikTok hashtags into Postgres, through the Crawlora API')
    .option('--plan <plan>', 'Crawlora plan: free, starter, growth, pro, business, enterprise (CRAWLORA_PLAN)')
    .option('--database-url <url>', 'Postgres connection string (DATABASE_URL)')
    .option('--redis-url <url>', 'Redis connection string (REDIS_URL)')
    .option('--base-url <url>', 'Crawlora API base (CRAWLORA_BASE_URL)')
    .option('--queue-prefix <prefix>', 'BullMQ key prefix; a {hash-tag} keeps Redis Cluster happy (HA_QUEUE_PREFIX)')
    .option('--log-level <level>', 'pino log level (LOG_LEVEL)')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  const commands = [
    migrateCommand(),
    crawlCommand(),
    resolveCommand(),
    workerCommand(),
    scheduleCommand(),
    runsCommand(),
    ...runControlCommands(),
    usageCommand(),
    planCommand(),
    exportCommand(),
    statsCommand(),
    historyCommand(),
    simCommand(),
    demoCommand(),
    serveCommand(),
  ];
  for (const command of commands) {
    program.addCommand(command.exitOverride());
  }
  return program;
}

/** Expected failures print one line and exit non-zero; anything else is a bug and shows its stack. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof ConfigError || err instanceof CrawloraError || err instanceof ServiceUnavailableError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.DEBUG) process.stderr.write(`${err instanceof Error ? err.stack : ''}\n`);
    process.exitCode = 1;
  }
}
