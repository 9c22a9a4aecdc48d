import { Command } from 'commander';
import type { PipelineMetrics } from '../server/metrics.js';
import type { RunningServer } from '../server/server.js';
import { configFrom, portNumber, requireApiKey, runUntilSignal, type App } from './context.js';
import { watchLiveRuns } from './watch-runs.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('fetch and archive page jobs, and start the runs schedules call for, until stopped (SIGINT/SIGTERM); start one per machine to scale out')
    .option('--concurrency <n>', 'most pages in flight in this worker; it keeps as many as the rate and measured latency need (HA_CONCURRENCY, default 160)')
    .option('--metrics-port <n>', "serve this worker's Prometheus counters at /metrics (plus /healthz, /readyz) on this port")
    .option('--metrics-host <host>', 'address for --metrics-port; anything but loopback needs DASHBOARD_TOKEN', '127.0.0.1')
    .action(async (flags: { concurrency?: string; metricsPort?: string; metricsHost: string }, command: Command) => {
      const config = requireApiKey(configFrom(command, { HA_CONCURRENCY: flags.concurrency }));
      // The pipeline's counters live in this process, so only this process can serve them.
      const metrics =
        flags.metricsPort === undefined
          ? null
          : { port: portNumber(flags.metricsPort, '--metrics-port'), pipeline: (await import('../server/metrics.js')).createPipelineMetrics() };
      await runUntilSignal(
        config,
        async (app) => {
          const server = metrics && (await startMetricsServer(app, flags.metricsHost, metrics.port, metrics.pipeline));
          app.startWorker();
          app.startScheduler();
          app.logger.info({ concurrency: config.concurrency, plan: config.plan, ratePerMin: config.ratePerMin, metrics: server?.url }, 'worker started');
          return [...(server ? [server] : []), watchLiveRuns(app.database.db)];
        },
        metrics ? { observer: metrics.pipeline.observer } : {},
      );
    });
}

/** Fastify and prom-client are imported only for --metrics-port: a plain worker is a long-lived process and need not carry them. */
async function startMetricsServer(app: App, host: string, port: number, pipeline: PipelineMetrics): Promise<RunningServer> {
  const [{ startServer }, { metricsRoute }] = await Promise.all([import('../server/server.js'), import('../server/metrics.js')]);
  return startServer(app, { host, port, parts: [metricsRoute(pipeline)] });
}
