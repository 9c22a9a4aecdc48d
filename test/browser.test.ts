import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrawl } from '../src/queue/start-crawl.js';
import { waitForRuns } from './support/runs.js';
import { startTestServer, waitForStatus, type TestServer } from './support/server.js';

/** Debian's chromium; .ci/run installs it, so CI never skips this file. */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(import.meta.dirname, '..', 'test-artifacts', 'dashboard.png');
const TOKEN = 'browser-test-token';
const skip = !existsSync(CHROMIUM) && !process.env.CI;
if (skip) console.warn(`browser.test.ts skipped: ${CHROMIUM} is missing (apt-get install chromium); under CI it runs regardless`);

let t: TestServer;
let context: BrowserContext;
let profile: string;

describe.skipIf(skip)('the dashboard in a real browser', () => {
  beforeAll(async () => {
    t = await startTestServer({ config: { dashboardToken: TOKEN }, sim: { itemsPerHashtag: 3_000 } });
    profile = await mkdtemp(join(tmpdir(), 'ha-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
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
