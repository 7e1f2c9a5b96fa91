// Shared by the browser tests (run by internal/browser from Go tests, one script per front end):
// Debian's Chromium through playwright-core, sign-in at the test OpenID Provider, axe-core checks
// and screenshots. Each script is a node:test file; node exits non-zero when a test fails.
import { chromium } from 'playwright-core';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:8080';
const PASSWORD = process.env.PASSWORD ?? 'demo';
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// The viewports the front ends must work at: a laptop and tablets both ways round.
export const viewports = {
  laptop: { width: 1280, height: 800 },
  portrait: { width: 768, height: 1024 },
  landscape: { width: 1024, height: 768 },
};

const args = ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'];

// launch starts a headless Chromium with a fresh profile (removed on close) and returns a
// browser context. With userDataDir the profile is that directory and survives close, as a
// tablet's browser profile does.
export async function launch({ userDataDir, viewport = viewports.laptop, ...options } = {}) {
  const dir = userDataDir ?? mkdtempSync(join(tmpdir(), 'lookfor-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true, args, viewport, ...options,
  });
  if (!userDataDir) {
    const close = context.close.bind(context);
    context.close = async () => { await close(); rmSync(dir, { recursive: true, force: true, maxRetries: 3 }); };
  }
  return context;
}

// signIn signs username in through lookfor's web sign-in at the test provider and waits until
// the browser is back on lookfor at returnTo.
export async function signIn(page, username, returnTo = '/') {
  await page.goto(`${BASE}/auth/login?return_to=${encodeURIComponent(returnTo)}`);
  await atProvider(page, username, returnTo);
}

// atProvider fills the test provider's sign-in page, on which page stands, as username and waits
// until the browser is back on lookfor at returnTo.
export async function atProvider(page, username, returnTo = '/') {
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(BASE + returnTo.split('?')[0])),
    page.click('button[type=submit]'),
  ]);
}

// axe runs axe-core's WCAG 2.1 A and AA rules on the page and returns the violations, each as
// "rule: target (help)" lines, so an assertion prints what to fix.
export async function axe(page) {
  // Two frames first: a viewport just changed fires its resize handlers (which mark wide tables
  // as scrollable regions) in the next frame's rendering steps, not before setViewportSize returns.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => (await window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  })).violations.map((v) => ({ id: v.id, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) })));
  return violations.flatMap((v) => v.targets.map((t) => `${v.id}: ${t} (${v.help})`));
}

// api makes a REST call with the page's session cookie (as the page itself would) and returns
// { status, body }.
export async function api(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const s = await (await fetch('/auth/session')).json();
    const r = await fetch(path, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf_token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed = text;
    try { parsed = JSON.parse(text); } catch { /* CSV and other text */ }
    return { status: r.status, body: parsed };
  }, { method, path, body });
}

// shot saves a screenshot to docs/screenshots/<name>.png when SCREENSHOTS=1 (the README shows
// them); otherwise it does nothing.
export async function shot(page, name) {
  if (process.env.SCREENSHOTS !== '1') return;
  await page.screenshot({ path: new URL(`../../docs/screenshots/${name}.png`, import.meta.url).pathname, fullPage: true });
}
