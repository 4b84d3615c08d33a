import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium: `npm test` installs it with apt-get when missing (scripts/test-deps.sh). */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Launches headless Chromium as the browser tests need it on this machine: no sandbox (root), and no
 * background networking (the network is closed, and those connections would be refused by the dozen).
 * Playwright gives a non-persistent browser a fresh temporary profile of its own. Fails, never skips,
 * when Chromium is missing.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium (apt-get install chromium)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
