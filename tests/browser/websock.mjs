// websock.js unit tests, run inside Chromium on the module websockify
// serves (--web-builtin): receive-queue reads across frame boundaries, the
// rQwait rewind, errors on short reads, and real round trips through
// websockify to an echo backend in binary and base64 modes.
import { run, env, assert } from './lib.mjs';

const base = env('BASE_URL'); // http://127.0.0.1:PORT/ of websockify --web-builtin, target: TCP echo

await run('websock', async (page) => {
  await page.goto(new URL('index.html', base).href);
  const results = await page.evaluate(async () => {
    const { Websock, encodeBase64, decodeBase64 } = await import('/websock.js');
    const out = [];
    const check = (name, cond, detail = '') => out.push({ name, ok: !!cond, detail: String(detail) });
    const feed = (ws, ...frames) => frames.forEach((f) => ws._recvMessage({ data: new Uint8Array(f).buffer }));

    // Integers and strings split across frames.
    let ws = new Websock();
    let events = 0;
    ws.on('message', () => events++);
    feed(ws, [0x12], [0x34, 0xde, 0xad], [0xbe], [0xef, 0x41], [0x42, 0x43, 0xff], [0x80, 0x01]);
    check('rQlen', ws.rQlen() === 12, ws.rQlen());
    check('message events', events === 6, events);
    check('rQshift16 across frames', ws.rQshift16() === 0x1234);
    check('rQshift32 across frames', ws.rQshift32() === 0xdeadbeef);
    check('rQpeek8', ws.rQpeek8() === 0x41 && ws.rQlen() === 6);
    check('rQshiftStr across frames', ws.rQshiftStr(3) === 'ABC');
    check('rQshift8 255', ws.rQshift8() === 0xff);
    check('rQshift8 128', ws.rQshift8() === 0x80);
    let threw = false;
    try { ws.rQshift16(); } catch (e) { threw = e instanceof RangeError; }
    check('short read throws RangeError', threw);
    check('failed read takes nothing', ws.rQlen() === 1 && ws.rQshift8() === 1);

    // rQwait with goback: a length-prefixed message arriving in pieces.
    ws = new Websock();
    const got = [];
    ws.on('message', () => {
      while (ws.rQlen() >= 2) {
        const len = ws.rQshift16();
        if (ws.rQwait('body', len, 2)) return;
        got.push(ws.rQshiftStr(len));
      }
    });
    feed(ws, [0], [5, 104, 101], [108, 108], [111, 0, 2, 104], [105, 0]);
    check('rQwait reassembles messages', got.join('|') === 'hello|hi', got.join('|'));
    check('rQwait leaves partial header', ws.rQlen() === 1, ws.rQlen());
    check('rQwait false when enough', ws.rQwait('x', 1) === false);

    // Growth: many frames, larger than the initial buffer, read partly as we go.
    ws = new Websock();
    let sum = 0, n = 0;
    for (let i = 0; i < 3000; i++) {
      feed(ws, Array.from({ length: 7 }, (_, j) => (i + j) & 255));
      if (i % 3 === 0) { const b = ws.rQshiftBytes(5); sum += b.reduce((a, x) => a + x, 0); n += 5; }
    }
    while (ws.rQlen()) { sum += ws.rQshift8(); n++; }
    let want = 0;
    for (let i = 0; i < 3000; i++) for (let j = 0; j < 7; j++) want += (i + j) & 255;
    check('queue growth and compaction', n === 21000 && sum === want, `${n} ${sum} ${want}`);
    const big = ws.rQshiftBytes(0);
    check('rQshiftBytes copy', big instanceof Uint8Array && big.length === 0);

    // Base64 frames (text) decode into the same queue.
    ws = new Websock();
    ws._recvMessage({ data: encodeBase64(new Uint8Array([0, 1, 2, 250])) });
    ws._recvMessage({ data: btoa('xyz') });
    check('base64 frames', ws.rQshift32() === 0x000102fa && ws.rQshiftStr() === 'xyz');
    check('base64 helpers', decodeBase64(encodeBase64(new Uint8Array([255, 0, 128]))).join() === '255,0,128');

    // Real connections through websockify to the echo backend.
    const url = `ws://${location.host}/websockify`;
    const roundTrip = (protocols) => new Promise((resolve, reject) => {
      const w = new Websock();
      const payload = new Uint8Array(70000).map((_, i) => (i * 7) & 255);
      const t = setTimeout(() => reject(new Error(`timeout, ${w.rQlen()} bytes`)), 10000);
      w.on('open', () => { w.send(payload.subarray(0, 1000)); w.send(payload.subarray(1000)); w.sendString('€'); });
      w.on('message', () => {
        if (w.rQwait('echo', payload.length + 3)) return;
        const back = w.rQshiftBytes(payload.length);
        const euro = new TextDecoder().decode(w.rQshiftBytes(3));
        clearTimeout(t);
        resolve({ protocol: w.protocol, same: back.every((b, i) => b === payload[i]), euro });
        w.close();
      });
      w.on('close', (e) => reject(new Error(`closed ${e.code}`)));
      w.open(url, protocols);
    });
    for (const [name, protocols, want] of [['default', undefined, ''], ['binary', ['binary'], 'binary'], ['base64', ['base64'], 'base64']]) {
      try {
        const r = await roundTrip(protocols);
        check(`echo ${name}: subprotocol`, r.protocol === want, r.protocol);
        check(`echo ${name}: bytes`, r.same && r.euro === '€', JSON.stringify(r));
      } catch (e) {
        check(`echo ${name}`, false, e.message);
      }
    }

    // Close event carries code and reason.
    const closed = await new Promise((resolve) => {
      const w = new Websock();
      w.on('open', () => w.close(1000, 'bye'));
      w.on('close', (e) => resolve(e));
      w.open(url);
    });
    check('close event', closed.code === 1000 && closed.wasClean, `${closed.code} ${closed.reason}`);
    return out;
  });
  for (const r of results) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.detail && !r.ok ? ': ' + r.detail : ''}`);
  const failed = results.filter((r) => !r.ok);
  assert(results.length > 20 && failed.length === 0, `${failed.length} of ${results.length} websock.js checks failed`);
});
