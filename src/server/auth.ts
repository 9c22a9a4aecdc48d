import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ConfigError } from '../config.js';
import { ownOrigin } from './cross-origin.js';
import { html, page, PAGE_CSP } from './html.js';

export const SESSION_COOKIE = 'ha_session';
/** A login lasts a working day; a copied cookie is worth no more than that. */
export const SESSION_LIFETIME_S = 12 * 3600;

/** Process liveness must answer to any prober; static assets carry no data and style the login page; logging out needs no session. */
const OPEN_PATHS = new Set(['/healthz', '/login', '/logout']);
const OPEN_PREFIXES = ['/assets/'];

/** Refuses, before anything listens, to expose the dashboard and its pause/cancel buttons beyond this machine without a token. */
export function assertSafeBinding(host: string, token: string | null): void {
  if (token === null && !isLoopback(host)) {
    throw new ConfigError(`DASHBOARD_TOKEN: refusing to listen on ${host} without a token; set DASHBOARD_TOKEN or listen on 127.0.0.1`);
  }
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * Guards every route but the open ones: `Authorization: Bearer <token>` for API clients and
 * scrapers, a cookie set by the login form for people. Browsers asking for a page are sent to
 * the form; everything else gets a 401.
 */
export function authRoutes(server: FastifyInstance, token: string): void {
  server.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    if (OPEN_PATHS.has(path) || OPEN_PREFIXES.some((prefix) => path.startsWith(prefix))) return;
    if (bearerMatches(request, token) || sessionValid(request.cookies[SESSION_COOKIE], token, Date.now())) return;
    if (request.method === 'GET' && request.headers.accept?.includes('text/html')) {
      return reply.redirect(`/login?next=${encodeURIComponent(request.url)}`);
    }
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: 'unauthorized: send Authorization: Bearer <DASHBOARD_TOKEN>, or log in at /login' });
  });

  server.get('/login', async (request, reply) => {
    const { next } = loginQuery.parse(request.query);
    return reply.type('text/html').header('content-security-policy', PAGE_CSP).send(loginPage(safeNext(next, ownOrigin(request)), null));
  });

  server.post('/login', async (request, reply) => {
    const form = loginForm.safeParse(request.body);
    const next = safeNext(form.data?.next, ownOrigin(request));
    if (!form.success || !sameSecret(form.data.token, token)) {
      return reply.code(401).type('text/html').header('content-security-policy', PAGE_CSP).send(loginPage(next, 'That token is not the one this server was started with.'));
    }
    reply.setCookie(SESSION_COOKIE, sessionCookieValue(token, Date.now()), { ...cookieOptions(request), maxAge: SESSION_LIFETIME_S });
    return reply.redirect(next, 303);
  });

  server.post('/logout', async (request, reply) => {
    reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
    return reply.redirect('/login', 303);
  });
}

/** Behind a TLS-terminating proxy the protocol is https (so the cookie Secure) only with --trust-proxy (X-Forwarded-Proto). */
function cookieOptions(request: FastifyRequest) {
  return { httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https', path: '/' } as const;
}

const loginQuery = z.object({ next: z.string().optional().catch(undefined) });
const loginForm = z.object({ token: z.string(), next: z.string().optional() });

function bearerMatches(request: FastifyRequest, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match !== null && sameSecret(match[1]!, token);
}

/** Digests first, so both sides have one length and the comparison takes the same time whatever the guess. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The cookie holds its expiry and a MAC of it keyed by the token, not the token: it stays valid
 * across restarts, cannot be extended by its holder, and dies when the token changes.
 */
export function sessionCookieValue(token: string, nowMs: number): string {
  const expiresS = Math.floor(nowMs / 1000) + SESSION_LIFETIME_S;
  return `${expiresS}.${sessionMac(token, expiresS)}`;
}

function sessionValid(value: string | undefined, token: string, nowMs: number): boolean {
  const match = /^(\d{1,12})\.([\w-]{43})$/.exec(value ?? '');
  if (match === null) return false;
  const expiresS = Number(match[1]);
  return sameSecret(match[2]!, sessionMac(token, expiresS)) && expiresS * 1000 > nowMs;
}

function sessionMac(token: string, expiresS: number): string {
  return createHmac('sha256', token).update(`hashtag-archiver dashboard session until ${expiresS}`).digest('base64url');
}

/**
 * Only a page of this server. `next` is resolved the way a browser resolves the Location header
 * (which drops tabs and newlines and reads `\` as `/`, so `/\t/evil.example` means
 * `//evil.example`), and kept only if the origin did not change and the path does not start
 * with `//`; control characters and backslashes are refused outright, and what is sent back is
 * the resolved path, not the input.
 */
export function safeNext(next: string | undefined, origin: string): string {
  if (next === undefined || !next.startsWith('/') || /[\u0000-\u001f\u007f-\u009f\\]/.test(next)) return '/';
  try {
    const base = new URL(origin);
    const target = new URL(next, base);
    // Dot segments can leave a path that starts with `//` (`/.//evil.example`): as a Location, that is another host.
    if (target.origin !== base.origin || target.pathname.startsWith('//')) return '/';
    return `${target.pathname}${target.search}${target.hash}`;
  } catch {
    return '/';
  }
}

function loginPage(next: string, error: string | null): string {
  return page(
    'Log in',
    html`<main class="login">
<h1>hashtag-archiver</h1>
<form method="post" action="/login">
<label for="token">Dashboard token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${next}">
<button type="submit">Log in</button>
${error !== null && html`<p class="error" role="alert">${error}</p>`}
</form>
</main>`,
  );
}
