// Debian Chromium (installed by scripts/tools.sh `ensure_chromium`; CHROMIUM_BIN picks another)
// driven by playwright-core, with fake camera and microphone (two of each, so a test can switch
// devices), and flags that keep it off the network: nothing a test does leaves this machine.
import { chromium } from "playwright-core";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream=device-count=2",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--autoplay-policy=no-user-gesture-required",
];

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN || "/usr/bin/chromium";

/**
 * @param {object} [options]
 * @param {string} [options.executablePath] another program that runs Chromium (such as a
 *   wrapper that starts it in a network namespace)
 * @param {string[]} [options.args] flags besides CHROMIUM_ARGS
 */
export function launchBrowser({ executablePath = CHROMIUM_BIN, args = [] } = {}) {
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, ...args], headless: true });
}
