// Safari's engine for the tests: WebKitGTK's MiniBrowser, driven over plain WebDriver HTTP
// (fetch, no client library) through WebKitWebDriver, on a virtual X display (Xvfb). Debian's
// packages (scripts/tools.sh `ensure_webkit`; MINIBROWSER_BIN, WEBKIT_DRIVER_BIN and XVFB_BIN
// pick others) have no WebRTC compiled in: this engine takes part in a room chat-only.
//
// Each program is started in its own process group, and `close` ends the groups: MiniBrowser
// and WebKit's helper processes are children of the driver, and none is left running.
import { spawn } from "node:child_process";
import { accessSync, constants, globSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { freePort } from "./net.mjs";
import { RESULTS } from "./ui.mjs";
import { until, within } from "./wait.mjs";

/** The key under which WebDriver names an element (W3C WebDriver, "web element identifier"). */
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/**
 * MiniBrowser as WebKitWebDriver should start it: in automation mode, with the mock camera and
 * microphone of its media capture, and video allowed to play without a click.
 */
const browserArgs = [
  "--automation",
  "--enable-media-stream=true",
  "--enable-mock-capture-devices=true",
  "--media-playback-requires-user-gesture=false",
];

/** The three programs, where this machine has them (null: missing). */
function programs() {
  const minibrowser = process.env.MINIBROWSER_BIN || globSync("/usr/lib/*/webkit2gtk-4.1/MiniBrowser")[0] || null;
  return {
    MiniBrowser: executable(minibrowser),
    WebKitWebDriver: executable(process.env.WEBKIT_DRIVER_BIN || onPath("WebKitWebDriver")),
    Xvfb: executable(process.env.XVFB_BIN || onPath("Xvfb")),
  };
}

/** Why WebKit cannot run here (the programs missing), or null when it can. */
export function webkitMissing() {
  const missing = Object.entries(programs())
    .filter(([, file]) => !file)
    .map(([name]) => name);
  if (!missing.length) return null;
  return `${missing.join(", ")} not found: install xvfb, libwebkit2gtk-4.1-0 and webkit2gtk-driver (scripts/tools.sh ensure_webkit does, as root on Debian)`;
}

/**
 * Starts Xvfb, WebKitWebDriver and a MiniBrowser session. Resolves with the session (see
 * `WebKitSession`); `close()` it to end everything, even after a failure.
 */
export async function launchWebKit() {
  const bin = programs();
  const started = [];
  try {
    // Xvfb picks a free display itself and writes its number to the descriptor given.
    const xvfb = start(bin.Xvfb, ["-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x720x24"], {}, 4);
    started.push(xvfb);
    const display = await within(10_000, "Xvfb's display number", displayNumber(xvfb));
    const port = await freePort();
    const driver = start(bin.WebKitWebDriver, [`--port=${port}`], { DISPLAY: `:${display}` });
    started.push(driver);
    const base = `http://127.0.0.1:${port}`;
    await until(() => fetch(`${base}/status`).then((res) => res.ok, () => false), { ms: 10_000, what: "WebKitWebDriver to answer" });
    const capabilities = { alwaysMatch: { "webkitgtk:browserOptions": { binary: bin.MiniBrowser, args: browserArgs } } };
    const { sessionId } = await command(`${base}/session`, "POST", { capabilities });
    return new WebKitSession(`${base}/session/${sessionId}`, started);
  } catch (error) {
    await stopAll(started);
    error.message += started.map((p) => `\n${p.name}: ${p.output()}`).join("");
    throw error;
  }
}

/** A MiniBrowser window, driven by WebDriver commands. */
class WebKitSession {
  #url;
  #processes;

  constructor(url, processes) {
    this.#url = url;
    this.#processes = processes;
  }

  /** Opens `url` and starts collecting the page's uncaught errors (see `errors`). */
  async goto(url) {
    await this.#command("/url", "POST", { url });
    // Classic WebDriver reports no page errors: the page keeps its own list from here on.
    await this.evaluate(() => {
      window.uncaught = [];
      addEventListener("error", (event) => window.uncaught.push(`${event.message} (${event.filename}:${event.lineno})`));
      addEventListener("unhandledrejection", (event) => window.uncaught.push(`unhandled rejection: ${event.reason?.stack ?? event.reason}`));
    });
  }

  /** The page's uncaught errors and unhandled rejections since `goto`. */
  errors() {
    return this.evaluate(() => window.uncaught);
  }

  /** Runs `fn(...args)` in the page (args and result as JSON); an async `fn` is awaited. */
  evaluate(fn, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      Promise.resolve((${fn}).apply(null, Array.from(arguments).slice(0, -1))).then(done, (e) => done({ thrown: String(e) }));`;
    return this.#command("/execute/async", "POST", { script, args }).then((result) => {
      if (result?.thrown) throw new Error(`in the page: ${result.thrown}`);
      return result;
    });
  }

  /** Waits until `fn(...args)` is truthy in the page; resolves with its value. */
  waitFor(what, fn, ...args) {
    return until(() => this.evaluate(fn, ...args), { ms: 20_000, what });
  }

  /** Clicks the element `selector` names, as a person would. */
  async click(selector) {
    await this.#command(`/element/${await this.#find(selector)}/click`, "POST", {});
  }

  /** Replaces the text of the field `selector` names with `text`, typed key by key. */
  async fill(selector, text) {
    const element = await this.#find(selector);
    await this.#command(`/element/${element}/clear`, "POST", {});
    await this.#command(`/element/${element}/value`, "POST", { text });
  }

  /** The text of the element `selector` names as rendered ("" while it is hidden). */
  async text(selector) {
    return this.#command(`/element/${await this.#find(selector)}/text`, "GET");
  }

  /** A screenshot of the window in test-results/ (ignored by git), for people to look at. */
  async screenshot(name) {
    // The screenshot is of the last frame painted, which may be older than the page: wait
    // for a fresh one.
    await this.evaluate(() => new Promise((painted) => requestAnimationFrame(() => requestAnimationFrame(painted))));
    const png = await this.#command("/screenshot", "GET");
    await mkdir(RESULTS, { recursive: true });
    const file = path.join(RESULTS, name);
    await writeFile(file, Buffer.from(png, "base64"));
    return file;
  }

  /** Ends the session and every process: the browser, the driver and the display. */
  async close() {
    await within(10_000, "closing the WebKit session", this.#command("", "DELETE")).catch(() => {});
    await stopAll(this.#processes);
  }

  async #find(selector) {
    const found = await this.#command("/element", "POST", { using: "css selector", value: selector });
    return found[ELEMENT];
  }

  #command(path, method, body) {
    return command(this.#url + path, method, body);
  }
}

/** One WebDriver command: its `value`, or an error saying what the driver answered. */
async function command(url, method, body) {
  const res = await fetch(url, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const { value } = await res.json();
  if (!res.ok) throw new Error(`WebDriver ${method} ${new URL(url).pathname}: ${value?.error}: ${value?.message}`);
  return value;
}

/**
 * Starts `file` in a process group of its own, keeping the end of its output for error
 * messages. `fds`: how many descriptors it gets (more than 3: pipes after stdout and stderr).
 */
function start(file, args, env, fds = 3) {
  const stdio = ["ignore", "pipe", "pipe", ...Array(fds - 3).fill("pipe")];
  const child = spawn(file, args, { stdio, detached: true, env: { ...process.env, ...env } });
  let output = "";
  const keep = (chunk) => (output = (output + chunk).slice(-4000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  child.name = path.basename(file);
  child.output = () => output;
  child.exited = new Promise((resolve) => child.once("exit", resolve));
  child.once("error", (error) => keep(`\n${error.message}`));
  return child;
}

/** Reads the display number Xvfb writes to its descriptor 3. */
function displayNumber(xvfb) {
  return new Promise((resolve, reject) => {
    let text = "";
    xvfb.stdio[3].on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) resolve(text.trim());
    });
    xvfb.exited.then((code) => reject(new Error(`Xvfb exited (${code}) before opening a display`)));
  });
}

/**
 * Ends processes and their groups (what each started, even if it has exited itself), the last
 * started first: politely, then for good.
 */
async function stopAll(processes) {
  for (const child of [...processes].reverse()) {
    killGroup(child, "SIGTERM");
    await within(3_000, `${child.name} to stop`, child.exited).catch(() => {});
    killGroup(child, "SIGKILL");
  }
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Gone already.
  }
}

function executable(file) {
  if (!file) return null;
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    return null;
  }
}

function onPath(name) {
  const dirs = (process.env.PATH ?? "").split(path.delimiter).filter(Boolean);
  return dirs.map((dir) => path.join(dir, name)).find(executable) ?? null;
}
