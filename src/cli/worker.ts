import { Command } from 'commander';
import { createPipelineMetrics, metricsRoute } from '../server/metrics.js';
import { startServer } from '../server/server.js';
import { configFrom, portNumber, requireApiKey, runUntilSignal } from './context.js';
import { watchLiveRuns } from './watch-runs.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('fetch and archive page jobs, and start the runs schedules call for, until stopped (SIGINT/SIGTERM); start one per machine to scale out')
    .option('--concurrency <n>', 'pages fetched at once by this worker (HA_CONCURRENCY)')
    .option('--metrics-port <n>', "serve this worker's Prometheus counters at /metrics (plus /healthz, /readyz) on this port")
    .option('--metrics-host <host>', 'address for --metrics-port; anything but loopback needs DASHBOARD_TOKEN', '127.0.0.1')
    .action(async (flags: { concurrency?: string; metricsPort?: string; metricsHost: string }, command: Command) => {
      const config = requireApiKey(configFrom(command, { HA_CONCURRENCY: flags.concurrency }));
      // The pipeline's counters live in this process, so only this process can serve them.
      const metrics = flags.metricsPort === undefined ? null : { port: portNumber(flags.metricsPort, '--metrics-port'), pipeline: createPipelineMetrics() };
      await runUntilSignal(
        config,
        async (app) => {
          const server = metrics && (await startServer(app, { host: flags.metricsHost, port: metrics.port, parts: [metricsRoute(metrics.pipeline)] }));
          app.startWorker();
          app.startScheduler();
          app.logger.info({ concurrency: config.concurrency, plan: config.plan, ratePerMin: config.ratePerMin, metrics: server?.url }, 'worker started');
          return [...(server ? [server] : []), watchLiveRuns(app.database.db)];
        },
        metrics ? { observer: metrics.pipeline.observer } : {},
      );
    });
}
