import { InvalidInputError } from '../crawlora/errors.js';
import type { AddressInfo } from 'node:net';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { App } from '../app.js';
import { ConfigError } from '../config.js';
import { RunStateError } from '../queue/run-control.js';
import { allowedHostsGuard } from './allowed-hosts.js';
import { apiRoutes } from './api.js';
import { assertSafeBinding, authRoutes } from './auth.js';
import { bullBoardRoutes } from './bull-board.js';
import { crossOriginGuard } from './cross-origin.js';
import { dashboardRoutes } from './dashboard.js';
import { healthRoutes } from './health.js';
import { metricsRoute } from './metrics.js';
import { BadParameterError } from './params.js';
import { WebhookInputError } from '../webhooks/errors.js';

/** A set of routes; a server is auth and health checks plus the parts it is given. */
export type ServerPart = (server: FastifyInstance, app: App) => void | Promise<void>;

/** What `serve` offers: runs page, JSON API, Bull Board, and the metrics a process without workers can compute. */
export const DASHBOARD_PARTS: readonly ServerPart[] = [dashboardRoutes, apiRoutes, bullBoardRoutes, metricsRoute(null)];

export interface ServerOptions {
  host: string;
  port: number;
  parts: readonly ServerPart[];
  /**
   * `--trust-proxy`: believe X-Forwarded-Proto/-Host/-For from every peer (true) or from these
   * addresses and CIDR ranges (e.g. '127.0.0.1,10.0.0.0/8'), as Fastify's trustProxy does. Only
   * then does a TLS-terminating proxy's https reach the session cookie (Secure) and the origin check.
   */
  trustProxy?: boolean | string;
}

export interface RunningServer {
  url: string;
  /** Stops accepting connections and waits for the requests in flight; may be called any number of times. */
  close(): Promise<void>;
}

/**
 * Listens on host:port with the app's token guarding everything but /healthz. Refuses a
 * non-loopback host without a token before binding anything. Before auth, every request must
 * name this server in its Host (DNS rebinding) and no other web page may change state (CSRF).
 */
export async function startServer(app: App, options: ServerOptions): Promise<RunningServer> {
  const token = app.config.dashboardToken;
  assertSafeBinding(options.host, token);
  const logger: FastifyBaseLogger = app.logger.child({ component: 'http' });
  // Two lines per request would drown the crawl's own log; failures are logged by the error handler.
  const server = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: options.trustProxy ?? false,
  });
  server.setErrorHandler(answerError);
  server.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no route for ${request.method} ${request.url.split('?', 1)[0]}` }));
  await server.register(fastifyCookie);
  await server.register(fastifyFormbody);
  allowedHostsGuard(server, { listenHost: options.host, extra: app.config.dashboardAllowedHosts });
  crossOriginGuard(server);
  if (token !== null) authRoutes(server, token);
  healthRoutes(server, app);
  for (const part of options.parts) await part(server, app);

  try {
    await server.listen({ host: options.host, port: options.port });
  } catch (err) {
    await server.close();
    throw listenError(err, options);
  }
  const address = server.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    close() {
      closing ??= server.close();
      return closing;
    },
  };
}

/** Every error leaves as `{error}` JSON: the caller's mistakes with their own status, ours as a 500 whose details stay in the log. */
function answerError(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (err instanceof BadParameterError || err instanceof InvalidInputError) return reply.code(400).send({ error: err.message });
  if (err instanceof WebhookInputError) return reply.code(err.status === 'not-found' ? 404 : 400).send({ error: err.message });
  if (err instanceof RunStateError) return reply.code(err.status === 'not-found' ? 404 : 409).send({ error: err.message });
  const status = err.statusCode ?? 500;
  if (status < 500) return reply.code(status).send({ error: err.message });
  request.log.error({ err }, 'request failed');
  return reply.code(500).send({ error: 'internal error; the server log has the details' });
}

function listenError(err: unknown, { host, port }: ServerOptions): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new ConfigError(`port ${port} on ${host} is already in use; pick another port`, { cause: err });
  if (code === 'EACCES') return new ConfigError(`port ${port} on ${host} is not allowed to this user; pick a port above 1023`, { cause: err });
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new ConfigError(`host ${host} is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of its addresses`, { cause: err });
  return err;
}
