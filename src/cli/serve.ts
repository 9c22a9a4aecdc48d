import { Command } from 'commander';
import { createApp, type App, type AppOptions } from '../app.js';
import { ConfigError, type Config } from '../config.js';
import { checkServices } from '../health.js';
import { createLogger } from '../logger.js';
import { assertSafeBinding } from '../server/auth.js';
import { DASHBOARD_PARTS, startServer } from '../server/server.js';
import { configFrom } from './context.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('web dashboard: runs with pause/resume/cancel, credits, activity chart; Bull Board at /queues; JSON API; /metrics')
    .option('--port <n>', 'port to listen on (0: any free port)', '3000')
    .option('--host <host>', 'address to listen on; anything but loopback needs DASHBOARD_TOKEN', '127.0.0.1')
    .action(async (flags: { port: string; host: string }, command: Command) => {
      const config = configFrom(command);
      const port = portNumber(flags.port, '--port');
      // Before connecting to anything: an exposed dashboard without a token is a configuration mistake.
      assertSafeBinding(flags.host, config.dashboardToken);
      await runUntilSignal(config, async (app) => {
        const server = await startServer(app, { host: flags.host, port, parts: DASHBOARD_PARTS });
        app.logger.info({ url: server.url, auth: config.dashboardToken !== null }, 'dashboard listening');
        process.stderr.write(`dashboard at ${server.url}/runs, Bull Board at ${server.url}/queues\n`);
        return [server];
      });
    });
}

interface Closable {
  close(): Promise<void>;
}

/**
 * The lifecycle of a long-running command (`serve`, `worker`): starts the app and what `start`
 * returns, runs until SIGINT/SIGTERM, then closes those in order (a server first, so requests in
 * flight finish against live pools) and then the app (workers, queue, pools).
 */
export async function runUntilSignal(config: Config, start: (app: App) => Promise<Closable[]>, options: AppOptions = {}): Promise<void> {
  const logger = createLogger(config.logLevel);
  const app = createApp(config, logger, options);
  const started: Closable[] = [];
  try {
    await checkServices(app.database.db, app.redis, config);
    started.push(...(await start(app)));
    const signal = await nextSignal();
    logger.info({ signal }, 'shutting down');
    process.exitCode = signal === 'SIGINT' ? 130 : 143;
  } finally {
    for (const part of started) await part.close();
    await app.close();
  }
}

function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** A TCP port for --port/--metrics-port: 0 (any free one) to 65535. */
export function portNumber(raw: string, flag: string): number {
  const port = Number(raw);
  if (!/^\d{1,5}$/.test(raw.trim()) || port > 65_535) {
    throw new ConfigError(`${flag}: '${raw}' is not a port; give a number from 0 to 65535, e.g. 3000`);
  }
  return port;
}
