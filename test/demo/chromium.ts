/**
 * Launching the system Chromium (Debian package) with playwright-core: no
 * browser downloads are possible here, so tests skip with a printed reason
 * when /usr/bin/chromium is missing.
 */
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumSkipReason } from '../support/system-chromium.js';

export { CHROMIUM_PATH, chromiumSkipReason };

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], headless: true, timeout: 30_000 });
}

/**
 * A new page ready for `page.evaluate(fn)`: tsx (esbuild with keepNames) wraps
 * named functions inside test callbacks in `__name(...)`, a helper that does
 * not exist in the page, so define it as the identity there.
 */
export async function newPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const page = await browser.newPage(options);
  await page.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
  return page;
}
