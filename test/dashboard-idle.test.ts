import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCharge } from '../src/db/ledger.js';
import { launchChromium, skipBrowserTests, type Browser } from './support/browser.js';
import { startTestServer, type TestServer } from './support/server.js';

/** What a person sees on a dashboard with nothing going on, and with a key past its daily cap. */
let t: TestServer;
let browser: Browser;

describe.skipIf(skipBrowserTests)('the dashboard when idle or over a cap, in a real browser', () => {
  beforeAll(async () => {
    t = await startTestServer({ config: { plan: 'free', dailyCredits: 500 } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('draws the chart with its axes and says there were no requests in the last hour', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${t.server.url}/runs`);
    await page.locator('#activity-chart canvas').first().waitFor();
    await expect(page.locator('#activity-empty').isVisible()).resolves.toBe(true);
    await expect(page.locator('#activity-empty').textContent()).resolves.toBe('No requests in the last hour.');
    // Axes and their tick labels are drawn on the canvas: an empty box is all one colour.
    const inkedPixels = await page.locator('#activity-chart canvas').first().evaluate((canvas) => {
      const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
      let inked = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) inked += 1;
      return inked;
    });
    expect(inkedPixels).toBeGreaterThan(200);
  });

  it('shows a key past its daily cap in the warning colour, with the words', async () => {
    await recordCharge(t.app.database.db, { keyFingerprint: 'key_over_cap', endpoint: 'hashtags', hashtagId: null, runId: null, credits: 992 });
    const page = await browser.context.newPage();
    await page.goto(`${t.server.url}/runs`);
    const today = page.locator('.usage dd').first();
    await expect(today.textContent()).resolves.toMatch(/992 of 500 on the busiest key.*past the cap/s);
    const meter = today.locator('meter');
    expect(await meter.evaluate((el) => ({ value: el.value, max: el.max, low: el.low, high: el.high, optimum: el.optimum }))).toEqual({
      value: 500,
      max: 500,
      low: 400,
      high: 500,
      optimum: 0,
    });
    // low/high/optimum put a full bar in the meter's worst region, which browsers draw red.
    await expect(page.locator('.usage dd').nth(1).locator('meter').getAttribute('class')).resolves.toBe('cap-under');
  });
});
