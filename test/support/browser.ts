import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's chromium; `npm test` installs it as root (scripts/ensure-chromium.sh). */
export const CHROMIUM = '/usr/bin/chromium';

/** Outside CI a machine without Chromium skips the browser tests (ensure-chromium.sh said what to install); CI never does. */
export const skipBrowserTests = !existsSync(CHROMIUM) && !process.env.CI;

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a profile of its own. The flags keep it off the network: this machine's
 * closed network refuses the background connections Chromium otherwise opens at start.
 */
export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'ha-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
