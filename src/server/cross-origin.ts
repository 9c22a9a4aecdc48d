import type { FastifyInstance, FastifyRequest } from 'fastify';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface CrossOriginInput {
  method: string;
  /** The `Origin` header, when sent. */
  origin: string | undefined;
  /** The `Sec-Fetch-Site` header, when sent. */
  secFetchSite: string | undefined;
  /** This server's origin as the request reached it, e.g. http://127.0.0.1:3000. */
  ownOrigin: string;
}

/**
 * Why a request that changes state must be refused as coming from another web page, or null to
 * let it through. Browsers mark every request with `Sec-Fetch-Site` (since 2020–2023) and every
 * POST with `Origin`, and a page cannot forge either: a request another origin made carries one
 * that is not ours, even in `no-cors` mode and with the user's cookie attached. A request
 * without both did not come from a browser (curl, scripts, Prometheus), so there is no victim's
 * browser to abuse. Go's net/http CrossOriginProtection decides the same way.
 */
export function crossOriginRefusal({ method, origin, secFetchSite, ownOrigin }: CrossOriginInput): string | null {
  if (SAFE_METHODS.has(method.toUpperCase())) return null;
  if (secFetchSite !== undefined && secFetchSite !== 'same-origin' && secFetchSite !== 'none') return `Sec-Fetch-Site is ${secFetchSite}`;
  if (origin !== undefined && !sameOrigin(origin, ownOrigin)) return `Origin ${origin} is not ${ownOrigin}`;
  return null;
}

/** Scheme, host and port as the browser sees them: behind a trusted proxy, its X-Forwarded-Proto and -Host. */
export function ownOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

function sameOrigin(origin: string, own: string): boolean {
  try {
    // URL normalises case and default ports; the opaque origin "null" (sandboxed frames, file:) never matches.
    return new URL(origin).origin === new URL(own).origin;
  } catch {
    return false;
  }
}

/** Refuses with 403, before auth, any state-changing request another web page made: the dashboard's own buttons and API clients pass. */
export function crossOriginGuard(server: FastifyInstance): void {
  server.addHook('onRequest', async (request, reply) => {
    const refusal = crossOriginRefusal({
      method: request.method,
      origin: header(request, 'origin'),
      secFetchSite: header(request, 'sec-fetch-site'),
      ownOrigin: ownOrigin(request),
    });
    if (refusal === null) return;
    return reply.code(403).send({ error: `cross-origin request refused (${refusal.slice(0, 200)}): only this dashboard's own pages may change runs` });
  });
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
