import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { startServer } from '../src/server/server.js';
import { runCli } from './support/cli.js';
import { silentLogger, SERVICES, testConfig } from './support/services.js';
import { spawnCli, startTestServer, type TestServer } from './support/server.js';

const TOKEN = 'dashboard-test-token-5d1f';
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ config: { dashboardToken: TOKEN } });
});

afterAll(async () => {
  await t?.close();
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

describe('dashboard access with DASHBOARD_TOKEN set', () => {
  it('/healthz answers without a token', async () => {
    const response = await t.request('/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('refuses the API, /metrics, /readyz and Bull Board without a token, with a JSON 401', async () => {
    for (const path of ['/api/runs', '/metrics', '/readyz', '/queues/api/queues', '/runs/panel']) {
      const response = await t.request(path);
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await response.json()).toEqual({ error: expect.stringMatching(/^unauthorized/) });
    }
    expect((await t.request('/api/runs/1/pause', { method: 'POST' })).status).toBe(401);
  });

  it('accepts the right bearer token and refuses a wrong one', async () => {
    expect((await t.request('/api/runs', bearer(TOKEN))).status).toBe(200);
    expect((await t.request('/metrics', bearer(TOKEN))).status).toBe(200);
    expect((await t.request('/readyz', bearer(TOKEN))).status).toBe(200);
    expect((await t.request('/api/runs', bearer(`${TOKEN}x`))).status).toBe(401);
    expect((await t.request('/api/runs', bearer(TOKEN.slice(0, -1)))).status).toBe(401);
  });

  it('sends a browser to the login form, whose cookie (HttpOnly, SameSite=Strict) then opens pages and the API', async () => {
    const page = await t.request('/runs', { headers: { accept: 'text/html' } });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2Fruns');
    const form = await t.request('/login?next=%2Fruns');
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('<input type="hidden" name="next" value="/runs">');

    const login = await t.request('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: TOKEN, next: '/runs' }).toString(),
    });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/runs');
    const setCookie = login.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(TOKEN);
    const cookie = setCookie.split(';', 1)[0]!;

    expect((await t.request('/runs', { headers: { cookie, accept: 'text/html' } })).status).toBe(200);
    expect((await t.request('/api/runs', { headers: { cookie } })).status).toBe(200);
    expect((await t.request('/api/runs', { headers: { cookie: `${cookie}x` } })).status).toBe(401);
  });

  it('rejects a wrong token at the login form without a cookie, and never redirects off-site', async () => {
    const form = (token: string, next: string) =>
      t.request('/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, next }).toString(),
      });
    const wrong = await form('guess', '/runs');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();
    expect(await wrong.text()).toContain('That token is not the one');
    for (const next of ['//evil.example/', 'https://evil.example/', '/\\evil.example']) {
      expect((await form(TOKEN, next)).headers.get('location')).toBe('/');
    }
  });
});

describe('binding and readiness', () => {
  it('reads the token from DASHBOARD_TOKEN, an empty one meaning none', () => {
    expect(loadConfig({ DASHBOARD_TOKEN: ' s3cret ' }).dashboardToken).toBe('s3cret');
    expect(loadConfig({ DASHBOARD_TOKEN: '' }).dashboardToken).toBeNull();
    expect(loadConfig({}).dashboardToken).toBeNull();
  });

  it('refuses to listen beyond loopback without a token, before binding anything', async () => {
    const app = createApp(testConfig({ databaseUrl: SERVICES.databaseUrl, queuePrefix: '{ha-unused}', baseUrl: 'http://127.0.0.1:1', dashboardToken: null }), silentLogger);
    try {
      await expect(startServer(app, { host: '0.0.0.0', port: 0, parts: [] })).rejects.toThrow(ConfigError);
      await expect(startServer(app, { host: '0.0.0.0', port: 0, parts: [] })).rejects.toThrow(/DASHBOARD_TOKEN: refusing to listen on 0\.0\.0\.0 without a token/);
    } finally {
      await app.close();
    }
    const cli = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { DASHBOARD_TOKEN: '' });
    expect(cli.code).toBe(2);
    expect(cli.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: DASHBOARD_TOKEN: refusing to listen on 0\.0\.0\.0/)]);
  });

  it('/readyz answers 503 naming the service that does not answer', async () => {
    const deadRedis = createApp(
      testConfig({ databaseUrl: SERVICES.databaseUrl, queuePrefix: '{ha-unused}', baseUrl: 'http://127.0.0.1:1', redisUrl: 'redis://127.0.0.1:1', dashboardToken: null }),
      silentLogger,
    );
    const server = await startServer(deadRedis, { host: '127.0.0.1', port: 0, parts: [] });
    try {
      const response = await fetch(`${server.url}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: 'Redis not answering', postgres: 'up', redis: 'down' });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
      await deadRedis.close();
    }
  });

  it('serve runs until SIGTERM, then closes and exits 143', async () => {
    const { databaseUrl, redisUrl, queuePrefix } = t.app.config;
    const serve = spawnCli(['serve', '--port', '0'], { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, HA_QUEUE_PREFIX: queuePrefix, DASHBOARD_TOKEN: '' });
    const [, url] = await serve.waitForStderr(/dashboard at (http:\/\/127\.0\.0\.1:\d+)\/runs/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/api/runs`)).status).toBe(200);
    expect(await serve.stop('SIGTERM')).toBe(143);
  });
});
