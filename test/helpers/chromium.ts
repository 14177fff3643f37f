/** Debian's Chromium, headless, driven by playwright-core: the browser of the browser tests. */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Why a browser test is skipped (no Chromium installed), or false. */
export const NO_CHROMIUM = !existsSync(CHROMIUM) && `no ${CHROMIUM}: apt-get install chromium`;

/** Headless Chromium without a GPU or background network traffic (playwright-core gives it a fresh profile). */
export function launchChromium(): Promise<Browser> {
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
