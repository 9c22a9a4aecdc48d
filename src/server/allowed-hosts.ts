import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** A prober must get its answer whatever name it uses; /healthz says only "ok". */
const ANY_HOST_PATHS = new Set(['/healthz']);

export interface AllowedHosts {
  /** The address the server listens on (`--host`), which may be a name. */
  listenHost: string;
  /** DASHBOARD_ALLOWED_HOSTS: lower case, no trailing dot; a leading dot allows that domain's subdomains. */
  extra: readonly string[];
}

/**
 * Whether a request's `Host` names this server. A DNS-rebinding page sends its own name (the
 * one it re-pointed at 127.0.0.1), so only names that cannot be re-pointed pass on their own:
 * IP literals (no DNS involved), `localhost` and `*.localhost` (browsers resolve them to loopback
 * themselves, RFC 6761), the name the server was told to listen on, and DASHBOARD_ALLOWED_HOSTS
 * (the names a proxy forwards). Vite and webpack-dev-server allow the same set by default.
 */
export function hostAllowed(hostHeaderName: string, allowed: AllowedHosts): boolean {
  const name = hostHeaderName.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (name === '') return false;
  if (isIP(name) !== 0 || name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === allowed.listenHost.toLowerCase()) return true;
  return allowed.extra.some((entry) => (entry.startsWith('.') ? name.endsWith(entry) : name === entry));
}

/** Answers 421 to any request whose Host is not one of this server's names, before auth or routing. */
export function allowedHostsGuard(server: FastifyInstance, allowed: AllowedHosts): void {
  server.addHook('onRequest', async (request, reply) => {
    if (ANY_HOST_PATHS.has(request.url.split('?', 1)[0]!) || hostAllowed(request.hostname, allowed)) return;
    return reply.code(421).send({
      error: `host '${request.hostname.slice(0, 100)}' is not a name of this server; use its address or localhost, or add the name to DASHBOARD_ALLOWED_HOSTS`,
    });
  });
}
