// noVNC (reconnect=1), served by a first websockify, shows the first VNC
// server's colour; the test then drains that websockify and starts a
// second one on the same port, for a second VNC server: noVNC gets 1001,
// reconnects, and shows the second colour. Go waits for FIRST_CONNECTED on
// stdout before it drains the first instance.
import { run, env, screenshot, assert, connected } from './lib.mjs';

const url = env('PAGE_URL');
const first = env('FIRST_RGB').split(',').map(Number);
const second = env('SECOND_RGB').split(',').map(Number);

async function colour(page, want, what) {
  let last;
  for (let i = 0; i < 100; i++) {
    last = await page.evaluate(() => {
      const c = document.querySelector('#noVNC_container canvas');
      if (!c || !c.width) return null;
      const g = c.getContext('2d');
      return [...g.getImageData(Math.floor(c.width / 2), Math.floor(c.height / 2), 1, 1).data];
    });
    if (last && last[0] === want[0] && last[1] === want[1] && last[2] === want[2]) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: canvas centre ${JSON.stringify(last)}; want rgb(${want})`);
}

await run('novnc-reconnect', async (page) => {
  // Record the close codes the page's WebSockets get.
  await page.addInitScript(() => {
    // A real WebSocket comes back (noVNC checks its prototype's own
    // properties); the constants are inherited.
    const Base = window.WebSocket;
    window.__closes = [];
    const Recording = function (...args) {
      const ws = new Base(...args);
      ws.addEventListener('close', (e) => window.__closes.push([e.code, e.reason]));
      return ws;
    };
    Object.setPrototypeOf(Recording, Base);
    Recording.prototype = Base.prototype;
    window.WebSocket = Recording;
  });
  await page.goto(url);
  await connected(page, 'first');
  await colour(page, first, 'first instance');
  await screenshot(page, `novnc-reconnect-${env("SHOT_TAG", "a")}-1.png`);
  console.log('FIRST_CONNECTED');
  await page.waitForFunction(() => document.documentElement.classList.contains('noVNC_reconnecting'), null, { timeout: 40000 });
  const closes = await page.evaluate(() => window.__closes);
  console.log('reconnecting after close', JSON.stringify(closes));
  assert(closes.length === 1 && closes[0][0] === 1001 && closes[0][1] === 'Server shutting down',
    `closes ${JSON.stringify(closes)}; want one 1001 "Server shutting down"`);
  await connected(page, 'second');
  await colour(page, second, 'second instance');
  await screenshot(page, `novnc-reconnect-${env("SHOT_TAG", "a")}-2.png`);
  console.log('SECOND_CONNECTED', await page.evaluate(() => document.getElementById('noVNC_status').textContent));
}, { timeoutMs: 80000 });
