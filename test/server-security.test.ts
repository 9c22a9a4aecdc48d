import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRuns, getRun } from '../src/db/runs.js';
import type { CrawlRun } from '../src/db/schema.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { expectOneLineError, runCli } from './support/cli.js';
import { startTestServer, type TestServer } from './support/server.js';

const TOKEN = 'security-test-token-81c2';
const EVIL = 'http://evil.example';
/** Ways another web page's request can be marked: by its Origin, or (fetch metadata) by Sec-Fetch-Site alone. */
const CROSS_SITE_MARKS: Array<Record<string, string>> = [
  { origin: EVIL },
  { origin: 'null' },
  { 'sec-fetch-site': 'cross-site' },
  { 'sec-fetch-site': 'same-site' },
];

/** The README's default: no token, loopback. */
let open: TestServer;
/** DASHBOARD_TOKEN set; one extra name allowed, as behind a proxy. */
let guarded: TestServer;

beforeAll(async () => {
  [open, guarded] = await Promise.all([
    startTestServer(),
    startTestServer({ config: { dashboardToken: TOKEN, dashboardAllowedHosts: ['dashboard.example.com', '.internal.example'] } }),
  ]);
});

afterAll(async () => {
  await Promise.all([open?.close(), guarded?.close()]);
});

/** A run that is queued and has no page job: pause moves it to paused, and nothing else touches it. */
async function queuedRun(t: TestServer, hashtagId: string): Promise<CrawlRun> {
  const [run] = await createRuns(t.app.database.db, [{ hashtagId, maxPages: 1, maxItems: null }]);
  return run!;
}

const statusOf = async (t: TestServer, runId: number) => (await getRun(t.app.database.db, runId))!.status;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http, because fetch will not send a Host header of our choosing. */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on('error', reject).end();
  });
}

async function login(t: TestServer): Promise<string> {
  const response = await t.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.server.url },
    body: new URLSearchParams({ token: TOKEN, next: '/runs' }).toString(),
  });
  expect(response.status).toBe(303);
  return response.headers.get('set-cookie')!.split(';', 1)[0]!;
}

describe('requests from other web pages (CSRF)', () => {
  it('without a token, a cross-origin POST changes nothing in Postgres; a same-origin one pauses the run', async () => {
    const run = await queuedRun(open, '940001');
    for (const headers of CROSS_SITE_MARKS) {
      for (const action of ['pause', 'cancel', 'resume']) {
        const response = await open.request(`/api/runs/${run.id}/${action}`, { method: 'POST', headers });
        expect({ headers, action, status: response.status }).toEqual({ headers, action, status: 403 });
        expect(await response.json()).toEqual({ error: expect.stringMatching(/^cross-origin request refused/) });
      }
    }
    expect(await statusOf(open, run.id)).toBe('queued');

    const sameOrigin = await open.request(`/api/runs/${run.id}/pause`, { method: 'POST', headers: { origin: open.server.url, 'sec-fetch-site': 'same-origin' } });
    expect(sameOrigin.status).toBe(200);
    expect(await statusOf(open, run.id)).toBe('paused');
  });

  it('API clients that send neither header (curl, scripts) still work', async () => {
    const run = await queuedRun(open, '940002');
    expect((await open.request(`/api/runs/${run.id}/pause`, { method: 'POST' })).status).toBe(200);
    expect(await statusOf(open, run.id)).toBe('paused');
  });

  it('with a token, the logged-in cookie does not let another page pause a run', async () => {
    const cookie = await login(guarded);
    const run = await queuedRun(guarded, '940003');
    for (const headers of CROSS_SITE_MARKS) {
      const response = await guarded.request(`/api/runs/${run.id}/pause`, { method: 'POST', headers: { cookie, ...headers } });
      expect({ headers, status: response.status }).toEqual({ headers, status: 403 });
    }
    expect(await statusOf(guarded, run.id)).toBe('queued');
    const own = await guarded.request(`/api/runs/${run.id}/pause`, { method: 'POST', headers: { cookie, origin: guarded.server.url } });
    expect(own.status).toBe(200);
    expect(await statusOf(guarded, run.id)).toBe('paused');
  });

  it('covers Bull Board and the login form too', async () => {
    const pauseQueue = await open.request('/queues/api/queues/pause', { method: 'PUT', headers: { origin: EVIL } });
    expect(pauseQueue.status).toBe(403);
    expect(await open.app.queue.isPaused()).toBe(false);
    const loginForm = await guarded.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams({ token: TOKEN, next: '/runs' }).toString(),
    });
    expect(loginForm.status).toBe(403);
    expect(loginForm.headers.get('set-cookie')).toBeNull();
  });
});

describe('DNS rebinding: the Host header must name this server', () => {
  const port = (t: TestServer) => new URL(t.server.url).port;

  it('refuses a foreign Host with 421 on the API, pages, Bull Board and /metrics, before auth', async () => {
    for (const t of [open, guarded]) {
      for (const path of ['/api/runs', '/runs', '/queues/api/queues', '/metrics', '/readyz']) {
        const response = await rawRequest(`${t.server.url}${path}`, { headers: { host: `evil.example:${port(t)}`, authorization: `Bearer ${TOKEN}` } });
        expect({ path, status: response.status }).toEqual({ path, status: 421 });
        expect(JSON.parse(response.body)).toEqual({ error: expect.stringContaining("host 'evil.example' is not a name of this server") });
      }
    }
    const run = await queuedRun(open, '940004');
    const post = await rawRequest(`${open.server.url}/api/runs/${run.id}/pause`, { method: 'POST', headers: { host: `evil.example:${port(open)}` } });
    expect(post.status).toBe(421);
    expect(await statusOf(open, run.id)).toBe('queued');
  });

  it('answers loopback names, IP addresses, DASHBOARD_ALLOWED_HOSTS, and /healthz to any name', async () => {
    const ok = async (t: TestServer, host: string, path = '/api/runs') =>
      (await rawRequest(`${t.server.url}${path}`, { headers: { host, authorization: `Bearer ${TOKEN}` } })).status;
    for (const host of [`127.0.0.1:${port(open)}`, `localhost:${port(open)}`, `LOCALHOST.:${port(open)}`, 'app.localhost', '[::1]:3000', '10.1.2.3']) {
      expect({ host, status: await ok(open, host) }).toEqual({ host, status: 200 });
    }
    expect(await ok(open, 'dashboard.example.com')).toBe(421);
    expect(await ok(guarded, 'dashboard.example.com')).toBe(200);
    expect(await ok(guarded, 'Dashboard.Example.com:443')).toBe(200);
    expect(await ok(guarded, 'grafana.internal.example')).toBe(200);
    expect(await ok(guarded, 'dashboard.example.com.evil.example')).toBe(421);
    expect(await ok(guarded, 'evil.example', '/healthz')).toBe(200);
  });

  it('DASHBOARD_ALLOWED_HOSTS with something that is not a host name is a one-line error', async () => {
    const result = await runCli(['serve', '--port', '0'], { DASHBOARD_ALLOWED_HOSTS: 'ok.example, https://bad.example' });
    expectOneLineError(result, /^error: DASHBOARD_ALLOWED_HOSTS: 'https:\/\/bad\.example' is not a host name; give names without scheme or port/, 2);
  });
});

/** Known open-redirect payloads: each must leave the login form on this server. */
const REDIRECT_PAYLOADS = [
  '//evil.example/',
  '///evil.example',
  '////evil.example',
  'https://evil.example/',
  'http:evil.example',
  '/\\evil.example',
  '\\\\evil.example',
  '/\\/evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  '\t//evil.example',
  ' //evil.example',
  '/%09/evil.example',
  '/%2F/evil.example',
  '/%5Cevil.example',
  'javascript:alert(1)',
  'data:text/html,hi',
  '/.//evil.example',
  '/..//evil.example',
  '/\u0000/evil.example',
  '/\u00a0/evil.example',
  '/\u3000/evil.example',
  '\u2028//evil.example',
  '/runs/../../evil.example',
  '/@evil.example',
  'evil.example',
];

describe('login redirect (next)', () => {
  it('lands on this server for every known open-redirect payload, from the form and from the query string', async () => {
    const own = new URL(guarded.server.url).origin;
    for (const next of REDIRECT_PAYLOADS) {
      const response = await guarded.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: guarded.server.url },
        body: new URLSearchParams({ token: TOKEN, next }).toString(),
      });
      const location = response.headers.get('location')!;
      // What a browser does with the Location: drops tabs and newlines, reads \ as /.
      expect({ next, origin: new URL(location, own).origin }).toEqual({ next, origin: own });
      expect({ next, location }).toEqual({ next, location: expect.stringMatching(/^\/(?![/\\])[^\s\\]*$/) });

      const form = await (await guarded.request(`/login?next=${encodeURIComponent(next)}`)).text();
      const hidden = /name="next" value="([^"]*)"/.exec(form)![1]!.replaceAll('&amp;', '&');
      expect({ next, origin: new URL(hidden, own).origin }).toEqual({ next, origin: own });
    }
  });

  it('keeps a path of this server with its query', async () => {
    const response = await guarded.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, next: '/queues/queue/pages?status=failed' }).toString(),
    });
    expect(response.headers.get('location')).toBe('/queues/queue/pages?status=failed');
  });
});

describe('session cookie', () => {
  it('expires: a cookie older than its lifetime opens nothing, and the cookie says when it ends', async () => {
    const response = await guarded.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, next: '/runs' }).toString(),
    });
    expect(response.headers.get('set-cookie')).toMatch(/Max-Age=43200/);
    const cookie = response.headers.get('set-cookie')!.split(';', 1)[0]!;
    expect((await guarded.request('/api/runs', { headers: { cookie } })).status).toBe(200);
    // The server runs in this process: move its clock past the session's end (Date only; timers keep running).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 12 * 3600_000 + 60_000 });
    try {
      expect((await guarded.request('/api/runs', { headers: { cookie } })).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
    expect((await guarded.request('/api/runs', { headers: { cookie } })).status).toBe(200);
  });

  it('log out clears the cookie and goes back to the login form; the runs page offers it', async () => {
    const cookie = await login(guarded);
    const page = await (await guarded.request('/runs', { headers: { cookie, accept: 'text/html' } })).text();
    expect(page).toContain('<form class="logout" method="post" action="/logout">');
    expect(await (await open.request('/runs')).text()).not.toContain('action="/logout"');

    const logout = await guarded.request('/logout', { method: 'POST', headers: { cookie, origin: guarded.server.url } });
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe('/login');
    expect(logout.headers.get('set-cookie')).toMatch(/^ha_session=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/);
  });

  it('is Secure behind a TLS-terminating proxy only with --trust-proxy', async () => {
    const viaProxy = async (server: RunningServer) => {
      const response = await fetch(`${server.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'dashboard.example.com', origin: 'https://dashboard.example.com' },
        body: new URLSearchParams({ token: TOKEN, next: '/runs' }).toString(),
      });
      return { status: response.status, cookie: response.headers.get('set-cookie') ?? '' };
    };
    const trusting = await startServer(guarded.app, { host: '127.0.0.1', port: 0, parts: [], trustProxy: '127.0.0.1' });
    try {
      const behindProxy = await viaProxy(trusting);
      expect(behindProxy.status).toBe(303);
      expect(behindProxy.cookie).toMatch(/; Secure/);
    } finally {
      await trusting.close();
    }
    // Without --trust-proxy the forwarded origin is not believed: the request is cross-origin to 127.0.0.1.
    expect((await viaProxy(guarded.server)).status).toBe(403);
  });

  it('--trust-proxy with something that is not an address is a one-line error', async () => {
    const result = await runCli(['serve', '--port', '0', '--trust-proxy', '10.0.0.0/8,proxy.lan']);
    expectOneLineError(result, /^error: --trust-proxy: 'proxy\.lan' is not an address, CIDR range/, 2);
  });
});
