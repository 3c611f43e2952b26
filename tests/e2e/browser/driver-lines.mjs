// What the browser drivers of the e2e tests (device.mjs, sandbox.mjs) share:
// their line protocol with the C side, one JSON object per line each way.
//   stdout first: {"ready":true,...what start() returned} or {"ready":false,"error":...}
//   stdin:  {"id":N,"cmd":...,...arguments}
//   stdout: {"id":N,"ok":true,...result} or {"id":N,"ok":false,"error":"..."}
// Requests are handled one at a time, in order; a result with quit: true, the
// end of stdin or SIGTERM shut the driver down.

import readline from 'node:readline';

export function errorText(e) {
  const msg = (e && e.message) ? e.message : String(e);
  // page.evaluate wraps page errors in a long message; keep its first line.
  return msg.split('\n')[0].replace(/^page\.evaluate: /, '');
}

// Starts the driver (start() -> info for the ready line), then serves the
// requests with handle(req) -> result.  shutdown(code) must end the process.
export async function runDriver({ start, handle, shutdown, log }) {
  const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
  let chain = Promise.resolve();

  function onLine(line) {
    line = line.trim();
    if (!line) return;
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      send({ id: null, ok: false, error: `not JSON: ${e.message}` });
      return;
    }
    chain = chain.then(async () => {
      const id = req.id === undefined ? null : req.id;
      const what = `${req.cmd}${req.selector ? ' ' + req.selector : ''}`;
      const t0 = Date.now();
      try {
        const result = await handle(req);
        send({ ...(result || {}), id, ok: true });
        log(`${what} ok (${Date.now() - t0} ms)`);
        if (result && result.quit) await shutdown(0);
      } catch (e) {
        log(`${what} failed (${Date.now() - t0} ms): ${errorText(e)}`);
        send({ id, ok: false, error: errorText(e) });
      }
    });
  }

  process.on('unhandledRejection', (e) => log('unhandled rejection:', errorText(e)));
  process.on('SIGTERM', () => { shutdown(0); });

  try {
    const info = await start();
    send({ ready: true, ...info });
    log(`ready: ${info.browser}${info.url ? ' at ' + info.url : ''}`);
  } catch (e) {
    log('start failed:', e.stack || String(e));
    send({ ready: false, error: errorText(e) });
    await shutdown(1);
  }

  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', onLine);
  rl.on('close', () => { chain = chain.then(() => shutdown(0)); });
}
