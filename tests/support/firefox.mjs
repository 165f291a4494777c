// Debian's Firefox ESR (installed by scripts/tools.sh `ensure_firefox`; FIREFOX_BIN picks
// another), driven by puppeteer-core over WebDriver BiDi, with a fake camera and microphone.
//
// Why a second driver: playwright-core drives only its own patched Firefox, which cannot be
// downloaded here, while puppeteer-core drives a stock Firefox. We keep playwright-core for
// Chromium (the rest of the suite is written against it) and write the helpers in
// tests/support/ui.mjs against what both drivers' pages share (goto, click, locator().fill,
// waitForSelector, waitForFunction, evaluate, screenshot), so one test can put both browsers
// in one call.
import { after, before } from "node:test";
import puppeteer from "puppeteer-core";

const PREFS = {
  // Fake camera and microphone, granted without asking; videos may play without a click.
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  // Calls between browsers on this machine: gather loopback candidates, and show the real
  // host addresses rather than mDNS names nothing here can resolve.
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
};

export function launchFirefox() {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: process.env.FIREFOX_BIN || "/usr/bin/firefox-esr",
    headless: true,
    extraPrefsFirefox: PREFS,
  });
}

/** One Firefox for a test file: launched before its first test, closed after its last. Returns a getter. */
export function firefoxForFile() {
  let firefox;
  before(async () => (firefox = await launchFirefox()));
  after(() => firefox?.close());
  return () => firefox;
}
