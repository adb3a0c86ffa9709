// wstelnet.html, served by websockify --web-builtin, connects to telnetd
// (wrapped under inetd), reaches a shell, runs a command and reads its
// output from the xterm.js screen.
import { run, env, screenshot, assert } from './lib.mjs';

const url = env('PAGE_URL');
const shot = process.env.SHOT_NAME || 'wstelnet.png';
const scheme = process.env.EXPECT_SCHEME || 'ws';
await run('wstelnet', async (page) => {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'connected', null, { timeout: 15000 });
  const screen = () => page.evaluate(() => window.wstelnet.screenText());
  // Wait for a shell prompt, then type through the terminal like a user.
  await page.waitForFunction(() => /[$#] ?$/m.test(window.wstelnet.screenText().trimEnd()), null, { timeout: 20000 })
    .catch(async (e) => { throw new Error(`no prompt: ${e.message}\nscreen:\n${await screen()}`); });
  await page.click('#terminal');
  await page.keyboard.type('echo browser$((6*7)) $TERM; uname -s\r', { delay: 5 });
  await page.waitForFunction(() => /browser42 \S+\s*\n\s*Linux/.test(window.wstelnet.screenText()), null, { timeout: 15000 })
    .catch(async (e) => { throw new Error(`no command output: ${e.message}\nscreen:\n${await screen()}`); });
  const text = await screen();
  const term = text.match(/browser42 (\S+)/)[1];
  assert(term === 'xterm-256color', `TERM is ${term}: TERMINAL-TYPE not negotiated`);
  const log = await page.evaluate(() => window.wstelnet.telnet.log);
  console.log('negotiation:', log.join(', '));
  assert(log.some((l) => l.startsWith('sent SB NAWS')), 'NAWS not sent');
  await page.keyboard.type('echo "websockify + wstelnet: $(id -un)@$(hostname) in $(pwd)"; uname -sr; stty size\r', { delay: 5 });
  await page.waitForFunction(() => /^\d+ \d+$/m.test(window.wstelnet.screenText()), null, { timeout: 15000 });
  const size = (await screen()).match(/^(\d+) (\d+)$/m);
  const dims = await page.evaluate(() => [window.wstelnet.term.rows, window.wstelnet.term.cols]);
  assert(+size[1] === dims[0] && +size[2] === dims[1], `stty size ${size[0]} but the terminal is ${dims}`);
  const used = await page.evaluate(() => window.wstelnet.uri());
  assert(used.startsWith(scheme + '://'), `connected to ${used}; want ${scheme}://`);
  await screenshot(page, shot);
});
