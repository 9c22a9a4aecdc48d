import { Command } from 'commander';
import { assertSafeBinding } from '../server/auth.js';
import { DASHBOARD_PARTS, startServer } from '../server/server.js';
import { configFrom, portNumber, runUntilSignal } from './context.js';

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
