import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrawl } from '../src/queue/start-crawl.js';
import { CHROMIUM, launchChromium, skipBrowserTests, type Browser } from './support/browser.js';
import { waitForRuns } from './support/runs.js';
import { startTestServer, waitForStatus, type TestServer } from './support/server.js';

const SCREENSHOT = join(import.meta.dirname, '..', 'test-artifacts', 'dashboard.png');
const TOKEN = 'browser-test-token';
if (skipBrowserTests) console.warn(`browser.test.ts skipped: ${CHROMIUM} is missing (apt-get install chromium); under CI it runs regardless`);

let t: TestServer;
let browser: Browser;
let context: BrowserContext;

describe.skipIf(skipBrowserTests)('the dashboard in a real browser', () => {
  beforeAll(async () => {
    t = await startTestServer({ config: { dashboardToken: TOKEN }, sim: { itemsPerHashtag: 3_000 } });
    browser = await launchChromium();
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('logs in, lists a running crawl, and its pause button pauses it in Postgres', async () => {
    const db = t.app.database.db;
    // Finished runs around the live one, so the page shows every kind of row.
    t.sim.configure({ faults: [{ kind: '400', hashtagId: '9050' }] });
    await waitForRuns(db, (await startCrawl(db, t.app.queue, { hashtagIds: ['9000', '9050'], maxPages: 3, maxItems: null })).map((run) => run.id));
    // A slow upstream keeps this run going for minutes: still running when the button is clicked.
    t.sim.configure({ faults: [], latencyMs: 400 });
    const [live] = await startCrawl(db, t.app.queue, { hashtagIds: ['9100'], maxPages: 90, maxItems: null });
    await waitForStatus(t.app, live!.id, 'running');

    const page = await context.newPage();
    await page.goto(`${t.server.url}/runs`);
    await page.waitForURL(/\/login\?next=%2Fruns$/);
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/runs$/);

    const row = page.locator(`tr[data-run-id="${live!.id}"]`);
    await expect(row.locator('.status').textContent()).resolves.toBe('running');
    await page.locator('#activity-chart canvas').first().waitFor();

    await row.locator('button[data-action="pause"]').click();
    expect(await waitForStatus(t.app, live!.id, 'paused')).toMatchObject({ status: 'paused', stopReason: 'user' });
    await page.locator(`tr[data-run-id="${live!.id}"][data-status="paused"]`).waitFor();
    await expect(page.locator('#flash').textContent()).resolves.toContain(`run ${live!.id}: pause done`);

    await mkdir(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
});
