import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuns, getRun } from '../src/db/runs.js';
import type { CrawlRun } from '../src/db/schema.js';
import { CHROMIUM, launchChromium, skipBrowserTests, type Browser } from './support/browser.js';
import { startTestServer, waitForStatus, type TestServer } from './support/server.js';

const TOKEN = 'browser-csrf-test-token';
if (skipBrowserTests) console.warn(`browser-csrf.test.ts skipped: ${CHROMIUM} is missing (apt-get install chromium); under CI it runs regardless`);

/**
 * Another web page the user has open: on load it tries to pause the run through the dashboard's
 * API, the way any site can — a no-cors fetch (the browser attaches the dashboard's cookie when
 * the sites match) and then a plain form post.
 */
function attackPage(pauseUrl: string): string {
  return `<!doctype html><html><body>
<form id="attack" method="post" action="${pauseUrl}"></form>
<script>
fetch(${JSON.stringify(pauseUrl)}, { method: 'POST', mode: 'no-cors', credentials: 'include' })
  .catch(() => {})
  .finally(() => document.getElementById('attack').submit());
</script>
</body></html>`;
}

/** Serves `attackPage` for any path on host:0, a second local origin. */
async function startAttacker(host: string, pauseUrl: () => string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end(attackPage(pauseUrl()));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    // Chromium keeps its connections alive: close() alone would wait for them.
    close: () => new Promise((resolve) => server.close(() => resolve()).closeAllConnections()),
  };
}

let guarded: TestServer;
let open: TestServer;
let browser: Browser;
let context: BrowserContext;

async function queuedRun(t: TestServer, hashtagId: string): Promise<CrawlRun> {
  const [run] = await createRuns(t.app.database.db, [{ hashtagId, maxPages: 1, maxItems: null }]);
  return run!;
}

describe.skipIf(skipBrowserTests)('another origin in a real browser cannot steer the dashboard', () => {
  beforeAll(async () => {
    [guarded, open] = await Promise.all([startTestServer({ config: { dashboardToken: TOKEN } }), startTestServer()]);
    browser = await launchChromium();
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([guarded?.close(), open?.close()]);
  });

  /**
   * Opens the dashboard (logging in when it has a token), then the attacker's page on
   * `attackerHost`, and waits until its form post (sent once the fetch settled) landed on the
   * dashboard; the run must still be queued. Then the dashboard's own pause button must pause it.
   */
  async function attackThenPause(t: TestServer, attackerHost: string, hashtagId: string): Promise<void> {
    const run = await queuedRun(t, hashtagId);
    const attacker = await startAttacker(attackerHost, () => `${t.server.url}/api/runs/${run.id}/pause`);
    const dashboard = await context.newPage();
    const attack = await context.newPage();
    try {
      await dashboard.goto(`${t.server.url}/runs`);
      if (t.app.config.dashboardToken !== null) {
        await dashboard.fill('#token', TOKEN);
        await dashboard.click('button[type=submit]');
        await dashboard.waitForURL(/\/runs$/);
      }

      await attack.goto(attacker.url);
      await attack.waitForURL((url) => url.href.startsWith(t.server.url));
      await attack.waitForLoadState();
      expect((await getRun(t.app.database.db, run.id))!.status).toBe('queued');

      await dashboard.reload();
      await dashboard.locator(`tr[data-run-id="${run.id}"] button[data-action="pause"]`).click();
      expect(await waitForStatus(t.app, run.id, 'paused')).toMatchObject({ status: 'paused', stopReason: 'user' });
    } finally {
      await Promise.all([dashboard.close(), attack.close()]);
      await attacker.close();
    }
  }

  it('a page on another port of 127.0.0.1 (same site: the login cookie goes along) cannot pause a run; the dashboard button can', async () => {
    await attackThenPause(guarded, '127.0.0.1', '950001');
  });

  it('without a token (loopback), a page on 127.0.0.2 cannot pause a run; the dashboard button can', async () => {
    await attackThenPause(open, '127.0.0.2', '950002');
  });
});
