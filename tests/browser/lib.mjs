// Shared helpers of the browser tests: launch Debian's chromium (never a
// downloaded browser) with a fresh profile, run one test body with a time
// limit, and exit non-zero on any failure. tests/browser_test.go runs the
// scripts with their parameters in the environment.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

export const env = (name, def) => {
  const v = process.env[name] ?? def;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};

// run launches the browser, gives body a page, and exits 0 when body
// resolves, 1 when it throws or the time limit passes.
export async function run(name, body, { timeoutMs = 60000 } = {}) {
  const timer = setTimeout(() => {
    console.error(`${name}: FAIL: timed out after ${timeoutMs} ms`);
    process.exit(1);
  }, timeoutMs);
  const profile = mkdtempSync(join(tmpdir(), 'wsfy-chromium-'));
  let ctx;
  let code = 0;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      ignoreHTTPSErrors: true,
      viewport: { width: 1024, height: 640 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--ignore-certificate-errors'],
    });
    const page = ctx.pages()[0] ?? await ctx.newPage();
    page.on('console', (m) => console.log(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
    await body(page);
    console.log(`${name}: ok`);
  } catch (e) {
    console.error(`${name}: FAIL: ${e && e.stack ? e.stack : e}`);
    code = 1;
  } finally {
    clearTimeout(timer);
    if (ctx) await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(code);
}

// screenshot saves a PNG when SCREENSHOT_DIR is set.
export async function screenshot(page, file) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, file) });
  console.log(`screenshot: ${join(dir, file)}`);
}

export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

export { dirname };

// connected waits until noVNC on page says it is connected, or fails with
// noVNC's own status line; what names the instance, if there are several.
export async function connected(page, what) {
  await page.waitForFunction(() => document.documentElement.classList.contains('noVNC_connected'), null, { timeout: 20000 })
    .catch(async (e) => {
      const st = await page.evaluate(() => document.getElementById('noVNC_status')?.textContent);
      throw new Error(`noVNC did not connect${what ? ` to the ${what} instance` : ''} (${e.message}); status: ${st}`);
    });
}
