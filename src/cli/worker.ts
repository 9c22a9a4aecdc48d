import { Command } from 'commander';
import { configFrom, requireApiKey, withApp } from './context.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('fetch and archive page jobs until stopped (SIGINT/SIGTERM); start one per machine to scale out')
    .option('--concurrency <n>', 'pages fetched at once by this worker (HA_CONCURRENCY)')
    .action(async (flags: { concurrency?: string }, command: Command) => {
      const config = requireApiKey(configFrom(command, { HA_CONCURRENCY: flags.concurrency }));
      await withApp(config, async (app) => {
        app.startWorker();
        app.logger.info({ concurrency: config.concurrency, plan: config.plan, ratePerMin: config.ratePerMin }, 'worker started');
        // Runs until a signal closes the app (see withApp).
        await new Promise<never>(() => {});
      });
    });
}
