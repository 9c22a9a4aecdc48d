import { isIP } from 'node:net';
import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { assertSafeBinding } from '../server/auth.js';
import { DASHBOARD_PARTS, startServer } from '../server/server.js';
import { configFrom, portNumber, runUntilSignal } from './context.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('web dashboard: runs with pause/resume/cancel, credits, activity chart; Bull Board at /queues; JSON API; /metrics')
    .option('--port <n>', 'port to listen on (0: any free port)', '3000')
    .option('--host <host>', 'address to listen on; anything but loopback needs DASHBOARD_TOKEN', '127.0.0.1')
    .option(
      '--trust-proxy [addresses]',
      'behind a reverse proxy (e.g. one terminating TLS): believe its X-Forwarded-Proto/-Host/-For, from any peer or only from these comma-separated addresses/CIDRs; forwarded names must be in DASHBOARD_ALLOWED_HOSTS',
    )
    .action(async (flags: { port: string; host: string; trustProxy?: true | string }, command: Command) => {
      const config = configFrom(command);
      const port = portNumber(flags.port, '--port');
      const trustProxy = trustProxyFlag(flags.trustProxy);
      // Before connecting to anything: an exposed dashboard without a token is a configuration mistake.
      assertSafeBinding(flags.host, config.dashboardToken);
      await runUntilSignal(config, async (app) => {
        const server = await startServer(app, { host: flags.host, port, parts: DASHBOARD_PARTS, trustProxy });
        app.logger.info({ url: server.url, auth: config.dashboardToken !== null }, 'dashboard listening');
        process.stderr.write(`dashboard at ${server.url}/runs, Bull Board at ${server.url}/queues\n`);
        return [server];
      });
    });
}

/** proxy-addr's names for address ranges, as Fastify's trustProxy accepts them. */
const PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** `--trust-proxy` alone trusts every peer; with a value, only the addresses, CIDRs or ranges it lists. */
export function trustProxyFlag(raw: true | string | undefined): boolean | string {
  if (raw === undefined || raw === true) return raw === true;
  const entries = raw.split(',').map((entry) => entry.trim());
  const bad = entries.find((entry) => {
    if (PROXY_RANGES.has(entry)) return false;
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    return family === 0 || rest.length > 0 || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits));
  });
  if (bad !== undefined) {
    throw new ConfigError(`--trust-proxy: '${bad}' is not an address, CIDR range or one of ${[...PROXY_RANGES].join(', ')}; give e.g. --trust-proxy 127.0.0.1,10.0.0.0/8`);
  }
  return entries.join(',');
}
