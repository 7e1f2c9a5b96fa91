// The tablet app in a real browser (run by TestApp in web/app_test.go, which then checks
// PostgreSQL): nothing lost, nothing doubled, whatever the network and the browser do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, signIn, axe, api, shot, viewports } from './lib.mjs';
import { ready, waiting, synced, record, recordFast, appRecords, sameAsServer, writeState, killChromium, appURL } from './app-lib.mjs';

const COACH = process.env.COACH;
const ADMIN = process.env.DISTRICT_ADMIN;
const t0 = Date.now();
const step = (s) => console.log(`— ${((Date.now() - t0) / 1000).toFixed(1)} s: ${s}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// targets lists the visible interactive elements smaller than 44 × 44 CSS px.
const smallTargets = (page) => page.evaluate(() => [...document.querySelectorAll('button, a, select, input:not([type=radio]):not([type=checkbox]), textarea, summary, label.choice')]
  .map((el) => [el, el.getBoundingClientRect()]).filter(([, r]) => r.width > 0 && r.height > 0 && (r.width < 44 || r.height < 44))
  .map(([el, r]) => `${el.tagName.toLowerCase()}#${el.id || ''}.${el.className} ${Math.round(r.width)}×${Math.round(r.height)}`));

async function accessible(page, label) {
  for (const [name, vp] of Object.entries(viewports)) {
    await page.setViewportSize(vp);
    assert.deepEqual(await axe(page), [], `axe, ${label}, ${name}`);
    assert.deepEqual(await smallTargets(page), [], `touch targets, ${label}, ${name}`);
  }
  await page.setViewportSize(viewports.landscape);
}

test('the tablet app records offline and syncs every observation exactly once', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'lookfor-tablet-a-'));
  const open = [];
  let ctx = await launch({ userDataDir: profile, viewport: viewports.landscape });
  open.push(ctx);
  let page = await ctx.newPage();
  try {
  const deleted = [];
  const site = () => page.evaluate(() => window.lookforApp.roster.sites[0].site_id);

  step('sign in, the app opens, storage persistence is requested');
  await page.goto(appURL);
  await page.getByRole('link', { name: 'Sign in' }).waitFor();
  await signIn(page, COACH, '/app/');
  await ready(page);
  assert.equal(await page.evaluate(() => window.lookforApp.persistRequested), true);
  console.log('navigator.storage.persist() granted:', await page.evaluate(() => window.lookforApp.persisted));
  assert.ok(await page.evaluate(() => navigator.serviceWorker.ready.then((r) => r.active?.scriptURL)), 'the service worker is active');
  const manifest = await api(page, 'GET', '/app/manifest.webmanifest');
  assert.equal(manifest.body.start_url, '/app/');

  step('a tap on "New" while a sync finishes and the list is redrawn opens the form');
  // Finger down, the sync's redraw, finger up: the tap must land (it was lost when the redraw
  // replaced the button, and a click that fell between two drawings timed out under CI load).
  const tap = await page.locator('#new').boundingBox();
  await page.mouse.move(tap.x + tap.width / 2, tap.y + tap.height / 2);
  await page.mouse.down();
  await page.evaluate(() => window.lookforApp.sync());
  await page.mouse.up();
  await page.locator('#obs-form').waitFor();

  step('validation mirrors the server: nothing is queued until the record is valid');
  await page.selectOption('#site', await site());
  await page.selectOption('#classroom', { index: 1 });
  await page.check('input[name=kind][value=calibration]');
  await page.click('#submit');
  await page.locator('#errors [data-reason=CO_OBSERVATION]').waitFor();
  assert.match(await page.locator('#errors').innerText(), /record\.co_observation/);
  await page.fill('#co-key', 'cal-2026-g1');
  await page.click('#submit');
  await page.locator('#errors [data-reason=OUT_OF_RANGE]').waitFor();
  assert.match(await page.locator('#errors').innerText(), /record\.duration_minutes/);
  assert.equal(await waiting(page), 0);

  step('a full calibration co-observation through the form: descriptors, not observed, tallies, timer, participation, evidence');
  await page.fill('#duration', '50');
  const dims = await page.locator('fieldset.dimension').evaluateAll((fs) => fs.map((f) => f.dataset.dim));
  await page.locator(`fieldset[data-dim=${dims[0]}] summary`).click();
  await page.locator(`fieldset[data-dim=${dims[0]}] dd`).first().waitFor();
  for (const [j, d] of dims.entries()) await page.check(`input[name="dim-${d}"][value="${j === 2 ? 'no' : 1 + (j % 4)}"]`);
  await page.fill(`#ev-${dims[0]}`, 'A student compared 3/4 & 6/8 <area model>; él explicó 🧮');
  await page.click('#timer');
  await page.waitForTimeout(1100);
  await page.click('#timer');
  await page.fill('#discussion', '12');
  for (let k = 0; k < 3; k++) await page.click('[data-tally=revoicing] .plus');
  await page.click('[data-tally=press_reasoning] .plus');
  await page.click('[data-tally=revoicing] .minus');
  assert.equal(await page.locator('#tally-revoicing').innerText(), '2');
  await page.locator('details.section > summary').click();
  const groups = await page.locator('[data-pfield=student_group] input').evaluateAll((is) => is.map((i) => i.value));
  await page.fill(`#enrol-${groups[0]}`, '12');
  for (const [f, o] of [['student_group', groups[0]], ['selection', 'volunteered'], ['length_band', 'words_5_20'], ['wait_time', 'at_least_3s'], ['question_type', 'why']]) {
    await page.check(`[data-pfield=${f}] input[value=${o}]`);
  }
  await page.click('#record-contribution');
  await page.click('#record-contribution');
  await page.fill('#focus', 'Comparing fractions with area models');
  await page.fill('#next-steps', 'Try "turn & talk" before <whole group>.');
  await accessible(page, 'the form');
  await shot(page, 'app-form');
  const full = await page.getAttribute('#obs-form', 'data-id');
  await page.click('#submit');
  await page.locator(`#list li[data-id="${full}"]`).waitFor();
  await synced(page);
  const [one] = (await appRecords(page)).filter((r) => r.id === full);
  assert.equal(one.hash, one.server_hash, 'the server hashed what the app hashed');
  assert.equal(one.revision, 1);
  await accessible(page, 'the list');
  await shot(page, 'app-list');

  step('amend the submitted observation (a new revision on its base), save and delete a draft');
  await page.click(`#list li[data-id="${full}"] a`);
  await page.check(`input[name="dim-${dims[1]}"][value="4"]`);
  await page.click('#save-amend');
  const draft = await record(page, 1, { status: 'draft', site: await site() });
  await synced(page);
  assert.equal((await appRecords(page)).find((r) => r.id === full).revision, 2);
  await page.click(`#list li[data-id="${draft}"] a`);
  await page.click('#delete-draft');
  deleted.push(draft);
  await synced(page);
  assert.equal((await appRecords(page)).some((r) => r.id === draft), false);
  const before = await sameAsServer(page, 'online');

  step('Spanish');
  await page.selectOption('#lang', 'es');
  await page.getByRole('link', { name: 'Nueva observación' }).waitFor();
  await page.click('#new');
  await page.getByText('Tipo de observación').waitFor();
  assert.deepEqual(await axe(page), []);
  await page.goto(appURL + '#/');
  await page.selectOption('#lang', 'en');

  step('50 observations offline: the app opens from the service worker and records without the network');
  const cached = await page.evaluate(async () => (await (await caches.open('lookfor-app-data-v1')).keys()).map((r) => new URL(r.url).pathname + new URL(r.url).search));
  for (const want of [/\/v1\/rubrics\/[^/]+\/versions\/\d+\?language=en$/, /\/v1\/rubrics\/[^/]+\/versions\/\d+\?language=es$/, /\/sites\?/, /\/classrooms\?/, /\/staff\?/, /\/student_groups$/]) {
    assert.ok(cached.some((u) => want.test(u)), `the service worker caches ${want}: ${cached.join(' ')}`);
  }
  await ctx.setOffline(true);
  await page.reload();
  await ready(page);
  assert.equal(await page.evaluate(() => navigator.onLine), false);
  for (let i = 0; i < 50; i++) await (i < 3 ? record(page, i, { site: await site() }) : recordFast(page, i));
  assert.equal(await waiting(page), 50);
  assert.match(await page.locator('#waiting').innerText(), /50 waiting/);
  await ctx.setOffline(false); // the online event starts a sync
  await page.waitForFunction(() => document.body.dataset.waiting === '0' && document.body.dataset.sync === 'idle', null, { timeout: 60000 });
  await synced(page);
  assert.equal(await sameAsServer(page, 'after 50 offline'), before + 50);

  step('a push whose response is lost: the same seqs are sent again and the server replays its results');
  await ctx.setOffline(true);
  for (let i = 0; i < 8; i++) await recordFast(page, 100 + i);
  let lost = 0;
  await page.route('**/v1/sync:push', async (route) => { await route.fetch(); lost++; await route.abort('internetdisconnected'); }, { times: 1 });
  await ctx.setOffline(false);
  await page.waitForFunction(() => document.body.dataset.sync !== 'running', null, { timeout: 30000 });
  await synced(page);
  assert.equal(lost, 1, 'one push response was lost');
  await sameAsServer(page, 'after a lost response');

  step('offline in the middle of a push');
  await ctx.setOffline(true);
  for (let i = 0; i < 8; i++) await recordFast(page, 200 + i);
  const pushed = page.waitForRequest('**/v1/sync:push');
  await page.route('**/v1/sync:push', async (route) => { await new Promise((r) => setTimeout(r, 300)); await route.continue().catch(() => {}); }, { times: 1 });
  await ctx.setOffline(false);
  await pushed;
  await ctx.setOffline(true);
  await page.waitForFunction(() => document.body.dataset.sync !== 'running', null, { timeout: 60000 });
  await ctx.setOffline(false);
  await synced(page);
  await sameAsServer(page, 'after going offline mid-push');

  step('the browser is killed while a push is in flight; a new browser on the same profile syncs again');
  await ctx.setOffline(true);
  for (let i = 0; i < 10; i++) await recordFast(page, 300 + i);
  let applied;
  const reached = new Promise((r) => { applied = r; });
  await page.route('**/v1/sync:push', async (route) => { await route.fetch(); applied(); await new Promise(() => {}); });
  await ctx.setOffline(false);
  await reached; // the server has applied the batch; the page never gets the answer
  await Promise.race([page.close({ runBeforeUnload: false }).catch(() => {}), sleep(2000)]);
  assert.ok(killChromium(profile) > 0, 'found the browser process');
  await Promise.race([ctx.close().catch(() => {}), sleep(5000)]);
  ctx = await launch({ userDataDir: profile, viewport: viewports.landscape });
  open.push(ctx);
  page = await ctx.newPage();
  await page.route('**/v1/sync:push', (route) => route.abort('internetdisconnected')); // hold the push until we have looked
  await page.goto(appURL);
  await ready(page);
  assert.equal(await waiting(page), 10, 'the outbox survived the kill');
  await page.unroute('**/v1/sync:push');
  if (await page.evaluate(() => window.lookforApp.signedOut)) { // the session cookie may have died with the browser
    await signIn(page, COACH, '/app/');
    await ready(page);
  }
  await synced(page);
  await sameAsServer(page, 'after the browser was killed mid-push');

  step('a second tablet of the coach: a reload during its first pull');
  const profileB = mkdtempSync(join(tmpdir(), 'lookfor-tablet-b-'));
  const ctxB = await launch({ userDataDir: profileB, viewport: viewports.portrait });
  open.push(ctxB);
  const pageB = await ctxB.newPage();
  let pulls = 0;
  await pageB.route('**/v1/sync:pull', async (route) => {
    const body = JSON.parse(route.request().postData());
    pulls++;
    await route.continue({ postData: JSON.stringify({ ...body, page_size: 10 }) }).catch(() => {});
  });
  await signIn(pageB, COACH, '/app/');
  while (pulls < 3) await sleep(10);
  await pageB.reload(); // the pull sequence is under way: pages and cursors committed so far stay
  await ready(pageB);
  await synced(pageB);
  assert.ok(pulls > 7, `the first pull took ${pulls} pages of 10`);
  await sameAsServer(pageB, 'tablet B after a reload during a pull');

  step('a conflict: both tablets amend the same observation; the coach resolves it side by side');
  await ctx.setOffline(true); // tablet A does not hear of B's amendment before making its own
  await pageB.goto(appURL + '#/obs/' + full);
  await pageB.check(`input[name="dim-${dims[3]}"][value="1"]`);
  await pageB.click('#save-amend');
  await synced(pageB);
  await page.evaluate((id) => { location.hash = '#/obs/' + id; }, full);
  await page.waitForSelector('#obs-form');
  await page.check(`input[name="dim-${dims[4]}"][value="2"]`);
  await page.click('#save-amend');
  await ctx.setOffline(false);
  await page.evaluate(() => window.lookforApp.sync());
  await page.goto(appURL + '#/');
  await page.locator(`#list li[data-id="${full}"][data-state=conflict]`).waitFor();
  await page.click(`#list li[data-id="${full}"] a`);
  await page.locator('table.compare').waitFor();
  await accessible(page, 'the conflict');
  await shot(page, 'app-conflict');
  await page.click('#take-mine');
  await page.locator(`#list li[data-id="${full}"][data-state=synced]`).waitFor();
  await synced(page);
  await synced(pageB);
  await sameAsServer(page, 'tablet A after the conflict');
  await sameAsServer(pageB, 'tablet B after the conflict');

  step('a rejection: the district moves a teacher; the tablet\'s roster is stale; the coach fixes and resends');
  const cls = await page.evaluate(() => [...window.lookforApp.roster.classrooms.values()].filter((c) => c.site_id === window.lookforApp.roster.sites[0].site_id));
  const [target, other] = cls;
  const admin = await launch();
  open.push(admin);
  const adminPage = await admin.newPage();
  await signIn(adminPage, ADMIN, '/');
  const moved = await api(adminPage, 'PUT', `/v1/districts/${target.district_id}/classrooms/${target.classroom_id}`,
    { classroom_id: target.classroom_id, site_id: target.site_id, course: target.course, grade: target.grade, section: target.section, teacher_id: other.teacher_id });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  await admin.close();
  await page.click('#new');
  await page.selectOption('#site', target.site_id);
  await page.selectOption('#classroom', target.classroom_id);
  await page.check('input[name=kind][value=informal]');
  await page.fill('#duration', '30');
  const rejectedID = await page.getAttribute('#obs-form', 'data-id');
  await page.click('#save-draft');
  await page.evaluate(() => window.lookforApp.sync());
  await page.locator(`#list li[data-id="${rejectedID}"][data-state=rejected]`).waitFor();
  assert.match(await page.locator(`#list li[data-id="${rejectedID}"]`).innerText(), /record\.teacher_id/);
  await page.reload(); // online: the roster is fetched again
  await ready(page);
  await page.click(`#list li[data-id="${rejectedID}"] a`);
  await page.locator('#rejection').waitFor();
  assert.equal(await page.locator('#teacher').innerText(), await page.evaluate((id) => {
    const p = window.lookforApp.roster.staff.get(id); return `${p.given_name} ${p.family_name}`;
  }, other.teacher_id));
  await page.click('#save-draft');
  await synced(page);
  assert.equal((await appRecords(page)).find((r) => r.id === rejectedID).revision, 1);
  const n = await sameAsServer(page, 'after the fix');
  console.log(`tablet A holds ${n} observations, each on the server once with the app's hash`);

  await writeState(page, deleted);
  } finally {
    for (const c of open) await Promise.race([c.close().catch(() => {}), sleep(5000)]);
  }
});
