/**
 * Where the system Chromium is (Debian's package; playwright-core cannot
 * download browsers here) and the flags every browser test starts it with.
 * Without the background-networking flags Chromium keeps dialing out, and
 * this sandbox refuses those connections many at a time.
 */
import { existsSync } from 'node:fs';

/** SOCKWAVE_CHROMIUM (or CHROMIUM_PATH) replaces it, e.g. to see the browser suites skip with their reason. */
export const CHROMIUM_PATH = process.env.SOCKWAVE_CHROMIUM || process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why browser tests cannot run here, or undefined when they can. */
export function chromiumSkipReason(): string | undefined {
  return existsSync(CHROMIUM_PATH) ? undefined : `${CHROMIUM_PATH} is not installed (apt-get install chromium)`;
}
