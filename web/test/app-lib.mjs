// Helpers of the tablet app's browser tests (app.test.mjs, app-expiry.test.mjs) and benchmark.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { BASE, api } from './lib.mjs';

// ready waits until the app has opened its outbox and shows its list.
export async function ready(page) {
  await page.waitForFunction(() => window.lookforApp?.outbox && document.querySelector('#new'), null, { timeout: 30000 });
}

export const waiting = (page) => page.evaluate(() => window.lookforApp.outbox.status().then((s) => s.waiting));

// synced runs syncs until the outbox is empty and the last one succeeded.
export async function synced(page, { reconcile = true } = {}) {
  for (let i = 0; i < 10; i++) {
    const ok = await page.evaluate(async (reconcile) => {
      const rep = await window.lookforApp.sync({ reconcile });
      return rep !== null && (await window.lookforApp.outbox.status()).waiting === 0;
    }, reconcile);
    if (ok) return;
  }
  throw new Error('the outbox did not empty: ' + await page.evaluate(() => String(window.lookforApp.error)));
}

// record fills the form through the UI as a coach would (site, classroom, kind, minutes, a level
// per dimension) and submits (or saves a draft); it returns the new record's id.
export async function record(page, i, { status = 'submitted', site } = {}) {
  await page.click('#new');
  await page.waitForSelector('#obs-form');
  const id = await page.getAttribute('#obs-form', 'data-id');
  site ??= await page.evaluate(() => window.lookforApp.roster.sites[0].site_id);
  await page.selectOption('#site', site);
  const n = await page.locator('#classroom option').count();
  await page.selectOption('#classroom', { index: 1 + (i % (n - 1)) });
  await page.check('input[name=kind][value=walkthrough]');
  await page.fill('#duration', String(15 + (i % 40)));
  const dims = await page.locator('fieldset.dimension').evaluateAll((fs) => fs.map((f) => f.dataset.dim));
  for (const [j, d] of dims.entries()) await page.check(`input[name="dim-${d}"][value="${1 + ((i + j) % 4)}"]`);
  await page.click(status === 'submitted' ? '#submit' : '#save-draft');
  await page.waitForSelector('#list, #new');
  return id;
}

// appRecords is what the app holds: id, its own hash, sync state and status.
export const appRecords = (page) => page.evaluate(async () => (await window.lookforApp.outbox.records())
  .map((e) => ({ id: e.id, hash: e.meta.local_hash, status: e.record.status, pending: e.meta.pending_seqs.length, conflict: !!e.meta.conflict,
    rejected: e.meta.rejected?.reason ?? '', revision: e.meta.revision, server_hash: e.meta.content_hash })));

// serverRecords lists every observation the signed-in person may see, id → content hash.
export async function serverRecords(page) {
  const out = new Map();
  let token = '';
  do {
    const r = await api(page, 'GET', `/v1/observations?page_size=1000${token ? '&page_token=' + encodeURIComponent(token) : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const o of r.body.observations) out.set(o.record.id, o.content_hash);
    token = r.body.next_page_token;
  } while (token);
  return out;
}

// sameAsServer: the app's list equals the server's (ids and hashes), every record synced, and
// reconcile finds nothing to do.
export async function sameAsServer(page, label) {
  const mine = await appRecords(page);
  const theirs = await serverRecords(page);
  assert.deepEqual(mine.filter((r) => r.pending || r.conflict || r.rejected), [], `${label}: records not settled`);
  assert.deepEqual(new Map(mine.map((r) => [r.id, r.hash])), theirs, `${label}: the app's list differs from the server's`);
  const rec = await api(page, 'POST', '/v1/sync:reconcile', {
    device_id: await page.evaluate(() => window.lookforApp.outbox.meta('device_id')),
    records: mine.map((r) => ({ observation_id: r.id, content_hash: r.hash })),
  });
  assert.equal(rec.status, 200);
  assert.deepEqual([rec.body.missing, rec.body.differ, rec.body.deleted, rec.body.invalid], [[], [], [], []], `${label}: reconcile`);
  return mine.length;
}

// writeState leaves what the app holds for the Go test's check in PostgreSQL (with extra fields
// a test adds for its own checks).
export async function writeState(page, deleted = [], extra = {}) {
  const records = (await appRecords(page)).map(({ id, hash, status }) => ({ id, hash, status }));
  writeFileSync(process.env.APP_STATE, JSON.stringify({ ...extra, records, deleted }));
}

// killChromium SIGKILLs the browser started on profile dir (found by its unique --user-data-dir),
// as a tablet's browser dies: no unload, no flush.
export function killChromium(dir) {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--user-data-dir=${dir}`)) { process.kill(Number(pid), 'SIGKILL'); n++; }
    } catch { /* gone already */ }
  }
  return n;
}

export const appURL = BASE + '/app/';

// recordFast fills and submits the same form inside the page (events as a tap makes them), for
// the bulk of the offline records: the form, validation and outbox are the app's own, minus
// Playwright's per-action round trips.
export async function recordFast(page, i, { site } = {}) {
  return page.evaluate(async ({ i, site }) => {
    const until = async (sel) => {
      for (let k = 0; k < 500 && !document.querySelector(sel); k++) await new Promise((r) => setTimeout(r, 10));
      return document.querySelector(sel);
    };
    location.hash = '#/new';
    const form = await until('#obs-form');
    const fire = (el, ev) => el.dispatchEvent(new Event(ev, { bubbles: true }));
    const set = (sel, v, ev) => { const el = document.querySelector(sel); el.value = v; fire(el, ev); };
    const check = (el) => { el.checked = true; fire(el, 'change'); };
    set('#site', site ?? window.lookforApp.roster.sites[0].site_id, 'change');
    const cs = document.querySelector('#classroom');
    set('#classroom', cs.options[1 + (i % (cs.options.length - 1))].value, 'change');
    check(document.querySelector('input[name=kind][value=walkthrough]'));
    set('#duration', String(15 + (i % 40)), 'input');
    document.querySelectorAll('fieldset.dimension').forEach((f, j) => check(f.querySelector(`input[value="${1 + ((i + j) % 4)}"]`)));
    const id = form.dataset.id;
    document.querySelector('#submit').click();
    if (!(await until('#new'))) throw new Error('the form did not save: ' + document.querySelector('#errors')?.textContent);
    return id;
  }, { i, site });
}
