#!/usr/bin/env node
// The driver of amgw's test device: a headless Chromium page (device.html)
// that plays the Alexa endpoint of a WebRTC call.
//
// Usage: node device.mjs [--tone-hz=440] [--source=file|oscillator]
//                        [--wav=FILE.wav] [--name=A] [--chromium=/usr/bin/chromium]
//
// Protocol, one JSON object per line each way:
//   stdout first: {"ready":true,"url":...,"browser":...} or {"ready":false,"error":...}
//   stdin:  {"id":N,"cmd":"open"|"answer"|"offer"|"apply_answer"|"set_direction"|
//                    "stats"|"hear"|"screenshot"|"close"|"quit", ...arguments}
//   stdout: {"id":N,"ok":true,...result} or {"id":N,"ok":false,"error":"..."}
// Requests are handled one at a time, in order.  stderr carries the logs (the
// page's console lines prefixed with "[page NAME]").  End of stdin = quit.

import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDriver } from './driver-lines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = { toneHz: 440, source: 'file', wav: null, name: 'device', chromium: '/usr/bin/chromium' };
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m) continue;
    if (m[1] === 'tone-hz') opts.toneHz = Number(m[2]);
    else if (m[1] === 'source') opts.source = m[2];
    else if (m[1] === 'wav') opts.wav = m[2];
    else if (m[1] === 'name') opts.name = m[2];
    else if (m[1] === 'chromium') opts.chromium = m[2];
  }
  if (!(opts.toneHz > 0 && opts.toneHz < 24000)) opts.toneHz = 440;
  if (opts.source !== 'file' && opts.source !== 'oscillator') opts.source = 'file';
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const log = (...a) => process.stderr.write(`[device ${opts.name}] ${a.join(' ')}\n`);

// A 10 s pure sine, 48 kHz mono 16-bit PCM, at -6 dBFS; Chromium loops it.
function writeToneWav(file, hz, seconds = 10, rate = 48000) {
  const n = seconds * rate;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0, 'ascii');
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8, 'ascii');
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);          // PCM
  buf.writeUInt16LE(1, 22);          // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36, 'ascii');
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) {
    buf.writeInt16LE(Math.round(16384 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  }
  fs.writeFileSync(file, buf);
}

let tmpDir = null;
let server = null;
let browser = null;
let page = null;
let quitting = false;

function serve() {
  const html = fs.readFileSync(path.join(here, 'device.html'));
  server = http.createServer((req, res) => {
    if (req.url === '/' || req.url.startsWith('/device.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}/device.html`));
  });
}

async function start() {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core is not installed (npm ci in ${here}): ${e.message}`);
  }
  if (!fs.existsSync(opts.chromium)) throw new Error(`no Chromium at ${opts.chromium}`);
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'amgw-device-'));
  if (opts.source === 'file' && !opts.wav) {
    opts.wav = path.join(tmpDir, `tone-${opts.toneHz}.wav`);
    writeToneWav(opts.wav, opts.toneHz);
  }
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic',
    // WebAudio (the analyser, the oscillator) must run without a user gesture.
    '--autoplay-policy=no-user-gesture-required',
  ];
  if (opts.wav) args.push(`--use-file-for-fake-audio-capture=${opts.wav}`);
  const url = await serve();
  browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    args,
    timeout: 30000,
    // Playwright's default --mute-audio stays: nothing is audible on a
    // developer's machine, yet the page's <audio> element still plays out
    // (so inbound-rtp audioLevel is measured) and WebAudio still gets samples.
    handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
  });
  browser.on('disconnected', () => { if (!quitting) { log('Chromium went away'); page = null; } });
  const context = await browser.newContext({ viewport: { width: 900, height: 560 } });
  page = await context.newPage();
  page.on('console', (m) => log(`[page ${opts.name}] ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log(`[page ${opts.name}] uncaught: ${e.message}`));
  page.on('crash', () => log(`[page ${opts.name}] crashed`));
  await page.goto(url);
  await page.waitForFunction(() => window.deviceReady === true, null, { timeout: 10000 });
  return { url, browser: browser.version(), source: opts.source, tone_hz: opts.toneHz, wav: opts.wav };
}

async function shutdown(code) {
  quitting = true;
  try { if (browser) await browser.close(); } catch (e) { log('browser.close:', e.message); }
  try { if (server) server.close(); } catch (e) { /* closing */ }
  try { if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true }); } catch (e) { /* best effort */ }
  process.exit(code);
}

const PAGE_CMDS = new Set(['open', 'answer', 'offer', 'apply_answer', 'set_direction', 'stats', 'hear', 'close']);

async function handle(req) {
  const cmd = req.cmd;
  if (cmd === 'quit') return { quit: true };
  if (!page) throw new Error('the page is gone (Chromium crashed or closed)');
  if (cmd === 'screenshot') {
    if (!req.path) throw new Error('screenshot needs "path"');
    await page.screenshot({ path: req.path, fullPage: true });
    return { path: req.path };
  }
  if (!PAGE_CMDS.has(cmd)) throw new Error(`unknown command "${cmd}"`);
  const args = { ...req };
  delete args.id;
  delete args.cmd;
  if (cmd === 'open') {
    if (!args.source) args.source = opts.source;
    if (!args.tone_hz) args.tone_hz = opts.toneHz;
    if (args.source === 'file' && !opts.wav) throw new Error('source "file" needs the driver started with a WAV');
  }
  return page.evaluate(([c, a]) => window.device[c](a), [cmd, args]);
}

await runDriver({ start, handle, shutdown, log });
