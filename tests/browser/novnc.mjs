// noVNC, served by websockify --web, connects through websockify to a
// wrapped Xvnc whose root window is a known colour; the test checks that
// noVNC reports the connection and that the canvas shows that colour.
import { run, env, screenshot, assert, connected } from './lib.mjs';

const url = env('PAGE_URL');
const want = env('EXPECT_RGB').split(',').map(Number); // "r,g,b"
const shot = env('SHOT_NAME', 'novnc.png');
const encrypted = env('EXPECT_ENCRYPTED', '0') === '1';

await run('novnc', async (page) => {
  await page.goto(url);
  await connected(page);
  const status = await page.evaluate(() => document.getElementById('noVNC_status').textContent);
  console.log('noVNC status:', status, '| title:', await page.title());
  assert(/^Connected \((un)?encrypted\) to /.test(status), `status ${JSON.stringify(status)}`);
  assert(status.includes(encrypted ? '(encrypted)' : '(unencrypted)'), `status ${JSON.stringify(status)}; want encrypted=${encrypted}`);
  // The framebuffer arrives after the connection: poll the canvas pixels.
  let last;
  for (let i = 0; i < 100; i++) {
    last = await page.evaluate(() => {
      const c = document.querySelector('#noVNC_container canvas');
      if (!c || !c.width) return null;
      const g = c.getContext('2d');
      const pts = [[0.1, 0.1], [0.5, 0.5], [0.9, 0.9], [0.25, 0.75]];
      return { w: c.width, h: c.height, px: pts.map(([x, y]) => [...g.getImageData(Math.floor(c.width * x), Math.floor(c.height * y), 1, 1).data]) };
    });
    if (last && last.px.every((p) => p[0] === want[0] && p[1] === want[1] && p[2] === want[2] && p[3] === 255)) break;
    await page.waitForTimeout(100);
  }
  console.log('canvas:', JSON.stringify(last));
  assert(last && last.px.every((p) => p[0] === want[0] && p[1] === want[1] && p[2] === want[2]), `canvas pixels ${JSON.stringify(last)}; want rgb(${want})`);
  await screenshot(page, shot);
});
