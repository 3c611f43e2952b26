#!/usr/bin/env node
// The driver of the sandbox e2e test (tests/e2e/test-sandbox.c): a headless
// Chromium that opens amgw's own /sandbox/ page and does what a person would
// do there, one step per command.
//
// Usage: node sandbox.mjs [--chromium=/usr/bin/chromium]
//
// Protocol, one JSON object per line each way:
//   stdout first: {"ready":true,"browser":...} or {"ready":false,"error":...}
//   stdin:  {"id":N,"cmd":"goto"|"fill"|"select"|"check"|"click"|"text"|
//                    "wait_text"|"eval"|"screenshot"|"quit", ...arguments}
//     goto {url}                    opens the page, waits for window.sandboxReady
//     fill {selector, value}        types into an input
//     select {selector, value}      picks an <option> by value
//     check {selector}              ticks a radio button or checkbox
//     click {selector}              clicks (waits until enabled)
//     text {selector}               -> {text}: the element's textContent
//     wait_text {selector, text, timeout_ms}
//                                   -> {text}: waits until textContent holds text
//     eval {expression}             -> {value}: a page expression (JSON-able)
//     screenshot {path}             -> {path}: a PNG of the whole page
//   stdout: {"id":N,"ok":true,...result} or {"id":N,"ok":false,"error":"..."}
// Requests are handled one at a time, in order.  stderr carries the logs (the
// page's console lines prefixed with "[page]").  End of stdin = quit.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDriver } from './driver-lines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = { chromium: '/usr/bin/chromium' };
for (const a of process.argv.slice(2)) {
  const m = /^--([a-z-]+)=(.*)$/.exec(a);
  if (m && m[1] === 'chromium') opts.chromium = m[2];
}
const log = (...a) => process.stderr.write(`[sandbox-driver] ${a.join(' ')}\n`);

let browser = null;
let page = null;
let tmpDir = null;
let quitting = false;

async function start() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed (npm ci in ${here}): ${e.message}`);
  }
  if (!fs.existsSync(opts.chromium)) throw new Error(`no Chromium at ${opts.chromium}`);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'amgw-sandbox-driver-'));
  browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--disable-quic',
      '--autoplay-policy=no-user-gesture-required',
    ],
    timeout: 30000,
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
  browser.on('disconnected', () => { if (!quitting) { log('Chromium went away'); page = null; } });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('console', (m) => log(`[page] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log(`[page] uncaught: ${e.message}`));
  page.on('crash', () => log('[page] crashed'));
  return { browser: browser.version() };
}

async function shutdown(code) {
  quitting = true;
  try { if (browser) await browser.close(); } catch (e) { log('browser.close:', e.message); }
  try { if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true }); } catch (e) { /* best effort */ }
  process.exit(code);
}

function need(req, ...keys) {
  for (const k of keys) if (req[k] === undefined) throw new Error(`${req.cmd} needs "${k}"`);
}

async function handle(req) {
  const cmd = req.cmd;
  if (cmd === 'quit') return { quit: true };
  if (!page) throw new Error('the page is gone (Chromium crashed or closed)');
  const timeout = req.timeout_ms || 15000;
  switch (cmd) {
    case 'goto':
      need(req, 'url');
      await page.goto(req.url, { timeout });
      await page.waitForFunction(() => window.sandboxReady === true, null, { timeout });
      return { url: page.url() };
    case 'fill':
      need(req, 'selector', 'value');
      await page.fill(req.selector, String(req.value), { timeout });
      return {};
    case 'select':
      need(req, 'selector', 'value');
      await page.selectOption(req.selector, String(req.value), { timeout });
      return {};
    case 'check':
      need(req, 'selector');
      await page.check(req.selector, { timeout });
      return {};
    case 'click':
      need(req, 'selector');
      await page.click(req.selector, { timeout });
      return {};
    case 'text':
      need(req, 'selector');
      return { text: await page.textContent(req.selector, { timeout }) };
    case 'wait_text': {
      need(req, 'selector', 'text');
      await page.waitForFunction(([sel, text]) => {
        const el = document.querySelector(sel);
        return el && el.textContent.includes(text);
      }, [req.selector, String(req.text)], { timeout, polling: 100 });
      return { text: await page.textContent(req.selector) };
    }
    case 'eval':
      need(req, 'expression');
      return { value: await page.evaluate(req.expression) };
    case 'screenshot':
      need(req, 'path');
      await page.screenshot({ path: req.path, fullPage: true });
      return { path: req.path };
    default:
      throw new Error(`unknown command "${cmd}"`);
  }
}

await runDriver({ start, handle, shutdown, log });
