// The pages for principals, coaches, district teams and network analysts. Every figure a page
// draws is an element with data-view/data-path (see web/src/pages/dom.js); these tests read
// every such element from the DOM and compare it with the same REST call made independently
// (the URL the test expects for the role, site, period and language), for several roles and
// periods. They also check that a principal's page never holds another site's names, ids or
// figures, that withheld, empty and partial cells are drawn and labelled, axe-core at a laptop
// and a tablet viewport, keyboard use, the CSV downloads and Spanish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, launch, signIn, axe, api, shot, viewports } from './lib.mjs';

const env = process.env;
const D = env.DISTRICT, SITE = env.PRINCIPAL_SITE;
const OTHERS = JSON.parse(env.OTHER_SITES ?? '[]');
const NEW_DIM = env.NEW_SERIES_DIMENSION; // not comparable in rubric version 2
// A site the district admin adds with no one on its roster: the district page says so.
const EMPTY = { id: `${D}.willow-creek-es`, name: 'Willow Creek Elementary School' };
OTHERS.push(EMPTY.id, EMPTY.name);
const prevYear = Number(env.PREVIOUS_YEAR_START.slice(0, 4));
const sy = (y) => `${y}-${String((y + 1) % 100).padStart(2, '0')}`;
const enc = encodeURIComponent;

// fmt is how the page must print a number (written here again, not imported from the page).
function fmt(lang, kind, v, signed) {
  const d = { mean: 2, ratio: 3, rate: 2, count: 0, pct: 1 }[kind];
  return new Intl.NumberFormat(lang, { style: kind === 'pct' ? 'percent' : 'decimal', minimumFractionDigits: d, maximumFractionDigits: d, signDisplay: signed ? 'exceptZero' : 'auto' }).format(v);
}

// periodQ is the API's period and comparison parameters (cmp: { compare, compare_key } as in the
// page's URL).
function periodQ(kind, key, cmp = {}) {
  const q = new URLSearchParams();
  if (kind) q.set('period.kind', kind);
  if (key) q.set('period.key', key);
  if (cmp.compare) q.set('compare.against', cmp.compare);
  if (cmp.compare_key) q.set('compare.key', cmp.compare_key);
  return q.toString();
}

// yearBefore is a school-year key ("2025-26", "2025-26/T2") one school year earlier.
const yearBefore = (key) => key.replace(/^(\d{4})-(\d{2})/, (_, y) => sy(Number(y) - 1));

// expected are the calls each page must make, built from the role's own view of the world.
function siteCalls(site, kind, key, lang, multi, cmp) {
  const q = periodQ(kind, key, cmp), v = `/v1/districts/${enc(D)}`;
  const c = {
    trends: `${v}/sites/${enc(site)}/progress:trends?${q}&periods=6&language=${lang}`,
    coverage: `${v}/progress:coverage?site_id=${enc(site)}&${q}`,
    talk: `${v}/progress:talk?site_id=${enc(site)}&${q}`,
    calibration: `${v}/progress:calibration?site_id=${enc(site)}&${q}&language=${lang}`,
    goals: `${v}/goals`, rubric: `/v1/rubrics/k8-academic-discourse/versions/latest?language=${lang}`, settings: `${v}/settings`,
  };
  if (multi) c.scope = `${v}/progress:coverage?${q}`;
  return c;
}
function districtCalls(kind, key, lang, cmp) {
  const q = periodQ(kind, key, cmp), v = `/v1/districts/${enc(D)}`;
  return { progress: `${v}/progress?${q}&language=${lang}`, coverage: `${v}/progress:coverage?${q}`,
    calibration: `${v}/progress:calibration?${q}&language=${lang}`, goals: `${v}/goals`, settings: `${v}/settings` };
}

const get = (o, path) => path.split('.').reduce((x, k) => (x === undefined || x === null ? undefined : x[k]), o);

// open loads a page and waits for its first render; it records every request the page makes.
async function open(page, path) {
  const requests = [];
  const onReq = (r) => { if (new URL(r.url()).pathname.startsWith('/v1/')) requests.push(r.url().slice(BASE.length)); };
  page.on('request', onReq);
  await page.goto(BASE + path);
  try { await page.locator('main[data-ready]').waitFor({ state: 'attached', timeout: 15000 }); } catch (e) {
    throw new Error(`${path} did not render (at ${page.url()}): ${await page.locator('body').innerText()}`);
  }
  page.off('request', onReq);
  assert.equal(await page.locator('main').getAttribute('data-ready'), 'true', `${path}: ${await page.locator('main').innerText()}`);
  return requests;
}

// checkFigures compares every figure on the page with the same REST calls and returns what it saw.
async function checkFigures(page, lang, expected) {
  const calls = JSON.parse(await page.locator('main').getAttribute('data-calls'));
  assert.deepEqual(calls, expected, 'the page makes the expected calls');
  const bodies = {};
  for (const [k, url] of Object.entries(calls)) {
    const r = await api(page, 'GET', url);
    assert.equal(r.status, 200, `${url}: ${JSON.stringify(r.body)}`);
    bodies[k] = r.body;
  }
  const figs = await page.$$eval('[data-path]', (els) => els.map((e) => ({
    view: e.dataset.view, path: e.dataset.path, fmt: e.dataset.fmt, state: e.dataset.state, value: e.dataset.value,
    reason: e.dataset.reason, text: e.dataset.text, n: e.querySelector('[data-n]')?.dataset.n, shown: e.textContent.trim(),
  })));
  const seen = { value: 0, suppressed: 0, 'no-data': 0, 'no-teachers': 0, absent: 0, text: 0, paths: new Set(), bodies };
  const withheld = lang === 'es' ? 'Reservado' : 'Withheld', noData = lang === 'es' ? 'sin observaciones' : 'no observations';
  const noTeachers = lang === 'es' ? 'sin docentes en la lista' : 'no teachers on the roster';
  for (const f of figs) {
    const where = `${f.view}.${f.path}`;
    assert.ok(bodies[f.view], `${where}: a figure of a call the page did not make`);
    const o = get(bodies[f.view], f.path);
    seen.paths.add(where);
    if (f.text !== undefined) { assert.equal(f.text, o, where); seen.text++; continue; }
    switch (f.state) {
      case 'suppressed':
        assert.equal(o?.suppressed, true, `${where} is drawn withheld: ${JSON.stringify(o)}`);
        assert.equal(f.reason, o.reason, where);
        assert.ok(o.reason && f.shown.startsWith(withheld + ':') && f.shown.length > withheld.length + 3, `${where} says why: ${f.shown}`);
        assert.equal(o.value, undefined, `${where}: a withheld cell has no value`);
        break;
      case 'no-data':
        assert.ok(o?.no_data === true || (o?.value === undefined && !o?.suppressed), `${where} has no data: ${JSON.stringify(o)}`);
        assert.equal(f.shown, noData, where);
        break;
      case 'no-teachers':
        assert.equal(o, true, `${where}: the API flags the site as having no teachers`);
        assert.equal(f.shown, noTeachers, where);
        break;
      case 'absent':
        assert.ok(o === undefined || o === null, `${where}: ${JSON.stringify(o)}`);
        break;
      case 'value': {
        const v = typeof o === 'object' ? o?.value : o;
        assert.equal(typeof v, 'number', `${where}: ${JSON.stringify(o)}`);
        assert.equal(Number(f.value), v, where);
        if (typeof o === 'object') assert.ok(!o.suppressed && !o.no_data, where);
        const signed = /change/.test(f.path);
        assert.ok(f.shown.startsWith(fmt(lang, f.fmt, v, signed)), `${where}: shows "${f.shown}", want ${fmt(lang, f.fmt, v, signed)}`);
        if (f.n !== undefined) assert.equal(Number(f.n), o.n, `${where} n`);
        break;
      }
      default: assert.fail(`${where}: state ${f.state}`);
    }
    seen[f.state]++;
  }
  return seen;
}

// noOtherSite: nothing on the page or in what it fetched names another site.
async function noOtherSite(page, requests, bodies) {
  const text = await page.locator('body').innerText();
  const html = await page.content();
  for (const s of OTHERS) {
    assert.ok(!text.includes(s) && !html.includes(s), `the principal's page mentions ${s}`);
    for (const b of Object.values(bodies)) assert.ok(!JSON.stringify(b).includes(s), `a call of the principal's page answered ${s}`);
  }
  for (const r of requests) assert.ok(!/progress/.test(r) || r.includes(`site_id=${enc(SITE)}`) || r.includes(`/sites/${enc(SITE)}/`), `unscoped call ${r}`);
}

// seriesBreak checks a site page whose last period has scores on two series of NEW_DIM (rubric
// version 2 made it not comparable): two tables and two chart lines, each line with points where
// its series has a mean level in the API's answer, and the new series' change "not comparable".
async function seriesBreak(page, tr, lang) {
  const idx = tr.dimensions.map((d, i) => [d, i]).filter(([d]) => d.series.dimension === NEW_DIM);
  assert.deepEqual(idx.map(([d]) => d.series.since_version), [1, 2], `two series of ${NEW_DIM}: ${JSON.stringify(tr.dimensions.map((d) => d.series))}`);
  const fig = page.locator('figure.multiple').filter({ has: page.locator('figcaption', { hasText: idx[0][0].series.title[lang] ?? Object.values(idx[0][0].series.title)[0] }) });
  assert.equal(await fig.locator('table').count(), 2, 'one table per series');
  const lines = JSON.parse(await fig.locator('.chart').getAttribute('data-lines'));
  assert.deepEqual(lines, idx.map(([d]) => ({ since: d.series.since_version,
    at: d.points.flatMap((p, j) => (p.mean_level?.value === undefined || p.suppressed ? [] : [j])) })), 'one line per series, with the API\'s points');
  assert.ok(lines[1].at.length > 0 && !lines[1].at.includes(0), `the new series starts late: ${JSON.stringify(lines)}`);
  const [nd, ni] = idx[1], last = nd.points.length - 1;
  assert.equal(nd.points[last].change.status, 'PERIOD_CHANGE_STATUS_SERIES_BREAK', JSON.stringify(nd.points[last]));
  const status = page.locator(`#levels [data-path="dimensions.${ni}.points.${last}.change.status"]`);
  assert.equal(await status.count(), 2, 'both changes of the new series say so');
  for (const text of await status.allInnerTexts()) assert.equal(text, lang === 'es' ? 'no comparable (versión nueva de la rúbrica)' : 'not comparable (new rubric version)');
  await a11y(page, `site with a series break (${lang})`);
}

async function a11y(page, name) {
  for (const [vp, size] of [['laptop', viewports.laptop], ['portrait', viewports.portrait]]) {
    await page.setViewportSize(size);
    assert.deepEqual(await axe(page), [], `axe on ${name} at ${vp}`);
  }
  await page.setViewportSize(viewports.laptop);
}

test('pages for every role show the API figures, say what is withheld, and stay in scope', async () => {
  const context = await launch();
  const totals = { suppressed: 0, 'no-data': 0, value: 0 };
  const add = (s) => { for (const k of Object.keys(totals)) totals[k] += s[k]; };
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => assert.fail(`page error: ${e}`));

    // District admin sets goals first (one site goal, one district-wide), through the API.
    await signIn(page, env.DISTRICT_ADMIN, '/');
    await page.waitForURL(/\/district/);
    for (const g of [{ title: 'Press at Lincoln', site_id: SITE, dimension: 'press', measure: 'GOAL_MEASURE_MEAN_LEVEL', target: 3, target_date: `${prevYear + 2}-06-01` },
      { title: 'District share proficient', dimension: 'substance', measure: 'GOAL_MEASURE_SHARE_PROFICIENT', target: 0.6, target_date: `${prevYear + 2}-06-01` }]) {
      const r = await api(page, 'POST', `/v1/districts/${D}/goals`, g);
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    // ... and adds a site whose roster has no one on it yet.
    const added = await api(page, 'PUT', `/v1/districts/${D}/sites/${EMPTY.id}`, { name: EMPTY.name, grade_band: 'K-5' });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const districtCases = [['', '', 'en', ''], ['term', `${sy(prevYear)}/T2`, 'en', 'share'], ['month', '', 'es', ''], ['window', `${sy(prevYear)}/baseline`, 'en', ''],
      // Comparisons: a chosen month, and the same term last year (Spanish).
      ['month', `${prevYear + 1}-03`, 'en', '', { compare: 'period', compare_key: `${prevYear}-10` }], ['term', '', 'es', '', { compare: 'last_year' }]];
    for (const [kind, key, lang, measure, cmp = {}] of districtCases) {
      const q = new URLSearchParams({ kind, key, lang, measure, ...cmp });
      for (const [k, v] of [...q]) if (!v) q.delete(k);
      await open(page, `/district?${q}`);
      const seen = await checkFigures(page, lang, districtCalls(kind, key, lang, cmp));
      add(seen);
      const pr = seen.bodies.progress;
      assert.ok(pr.sites.length === 5, 'the district page shows every site');
      // The title names the district, not its id.
      assert.ok(pr.district_name && pr.district_name !== D, JSON.stringify(pr.district_name));
      assert.equal((await page.locator('h1').innerText()).split(' · ')[0], pr.district_name);
      // The site with no teachers says so across its rows: neither "no observations" nor a 0.
      const e = pr.sites.findIndex((s) => s.site_id === EMPTY.id);
      assert.ok(pr.sites[e].no_teachers && seen.paths.has(`progress.sites.${e}.no_teachers`), `heat map row of ${EMPTY.name}`);
      const ce = seen.bodies.coverage.sites.findIndex((s) => s.site_id === EMPTY.id);
      assert.ok(seen.bodies.coverage.sites[ce].no_teachers && seen.paths.has(`coverage.sites.${ce}.no_teachers`), `coverage row of ${EMPTY.name}`);
      for (const row of await page.locator('tr', { hasText: EMPTY.name }).all()) {
        assert.equal(await row.locator('td').count(), 1, 'one cell says it');
        assert.doesNotMatch(await row.innerText(), /no observations|sin observaciones|\b0\b/);
      }
      // What the changes are measured against is the comparison asked for, and the page says so.
      if (cmp.compare === 'period') assert.equal(pr.previous.key, cmp.compare_key);
      if (cmp.compare === 'last_year') assert.equal(pr.previous.key, yearBefore(pr.period.key));
      if (cmp.compare) {
        assert.ok((await page.locator('p.previous').innerText()).includes(pr.previous.key));
        assert.equal(await page.locator('#compare').inputValue(), cmp.compare);
        assert.ok(pr.sites.some((s) => s.dimensions.some((d) => d.change?.status === 'PERIOD_CHANGE_STATUS_COMPARED')), 'changes were compared');
      }
      pr.sites.forEach((s, i) => !s.no_teachers && s.dimensions.forEach((d, j) => assert.ok(
        seen.paths.has(`progress.sites.${i}.dimensions.${j}.${measure === 'share' ? 'share_proficient' : 'mean_level'}`) || seen.paths.has(`progress.sites.${i}.dimensions.${j}`),
        `heat map cell ${s.site_name} × ${d.series.dimension}`)));
      assert.ok(seen.bodies.calibration.observers.length > 1 || !seen.bodies.calibration.lessons, `a district admin sees every observer: ${JSON.stringify(seen.bodies.calibration).slice(0, 400)}`);
      seen.bodies.calibration.observers.forEach((_, i) => assert.ok(seen.paths.has(`calibration.observers.${i}.overall.kappa`)));
      seen.bodies.goals.goals.forEach((_, i) => assert.ok(seen.paths.has(`goals.goals.${i}.progress`)));
      if (!kind) { await a11y(page, 'district'); await shot(page, 'district'); }
      if (kind === 'window') {
        const win = seen.bodies.settings.settings.windows[0];
        assert.equal(await page.locator('#period-key option:checked').innerText(), `${win.title} ${sy(prevYear)}`, 'the picker offers the district windows');
        assert.equal(pr.period.key, key);
      }
    }
    // The heat map switch and the period picker work from the keyboard.
    await open(page, '/district');
    await page.getByRole('link', { name: 'Share proficient' }).focus();
    await Promise.all([page.waitForURL(/measure=share/), page.keyboard.press('Enter')]);
    await page.locator('main[data-ready=true]').waitFor();
    await page.locator('#period-kind').focus();
    await page.keyboard.press('ArrowDown'); // school year → term
    await page.keyboard.press('Tab'); // the key
    await page.keyboard.press('Tab'); // the comparison
    assert.equal(await page.evaluate(() => document.activeElement.id), 'compare');
    await page.keyboard.press('Tab'); // the button (the chosen period's list is disabled)
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Show');
    await Promise.all([page.waitForURL(/kind=term/), page.keyboard.press('Enter')]);
    await page.locator('main[data-ready=true]').waitFor();
    assert.match(page.url(), /measure=share/, 'the picker keeps the measure');
    // The comparison from the keyboard: previous period → same period last year; the chosen
    // period's list stays disabled (and out of the tab order) until "a chosen period" is picked.
    await page.locator('#compare').focus();
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.locator('#compare-key').isDisabled(), true);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Show');
    await Promise.all([page.waitForURL(/compare=last_year/), page.keyboard.press('Enter')]);
    await page.locator('main[data-ready=true]').waitFor();
    assert.match(page.url(), /kind=term/);
    add(await checkFigures(page, 'en', districtCalls('term', '', 'en', { compare: 'last_year' })));
    await page.locator('#compare').focus();
    await page.keyboard.press('ArrowDown'); // → a chosen period
    assert.equal(await page.locator('#compare-key').isDisabled(), false);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'compare-key');
    const chosen = await page.locator('#compare-key').inputValue(); // the latest term before this one
    const shown = (await api(page, 'GET', `/v1/districts/${enc(D)}/progress?period.kind=term`)).body.period.key;
    assert.ok(chosen && chosen < shown, `${chosen} is offered before ${shown}`);
    await page.keyboard.press('Tab');
    await Promise.all([page.waitForURL(/compare=period/), page.keyboard.press('Enter')]);
    await page.locator('main[data-ready=true]').waitFor();
    const ck = await checkFigures(page, 'en', districtCalls('term', '', 'en', { compare: 'period', compare_key: chosen }));
    add(ck);
    assert.equal(ck.bodies.progress.previous.key, chosen);
    // CSV of a view, as the page links it.
    const csv = await page.locator('#coverage a.csv').getAttribute('href');
    const got = await api(page, 'GET', csv);
    assert.equal(got.status, 200);
    assert.match(String(got.body), /Lincoln Elementary School/);

    // A district admin opens a site's page from the heat map: that site's figures only.
    await open(page, '/district?kind=month');
    const link = page.locator(`#heatmap a[href^="/sites/${SITE}"]`);
    await link.focus();
    const adminRequests = [];
    const onReq = (r) => { if (new URL(r.url()).pathname.startsWith('/v1/')) adminRequests.push(r.url().slice(BASE.length)); };
    page.on('request', onReq);
    await Promise.all([page.waitForURL(new RegExp(`/sites/${SITE.replace(/\./g, '\\.')}`)), page.keyboard.press('Enter')]);
    await page.locator('main[data-ready=true]').waitFor();
    page.off('request', onReq);
    const as = await checkFigures(page, 'en', siteCalls(SITE, 'month', '', 'en', false));
    add(as);
    await noOtherSite(page, adminRequests, as.bodies);
    assert.equal(await page.locator('h1').evaluate((e) => e.firstChild.textContent), as.bodies.trends.site_name);
    await api(page, 'POST', '/auth/logout');

    // Principal: own site only, several periods, both languages.
    await context.clearCookies();
    await signIn(page, env.PRINCIPAL, '/');
    await page.waitForURL(new RegExp(`/sites/${SITE.replace(/\./g, '\\.')}`));
    const cases = [['month', '', 'en'], ['week', '', 'es'], ['term', `${sy(prevYear)}/T1`, 'en'], ['month', `${prevYear + 1}-07`, 'en'], ['week', `${prevYear}-W42`, 'en'],
      ['month', '', 'en', { compare: 'last_year' }], ['term', `${sy(prevYear)}/T3`, 'en'], ['term', `${sy(prevYear)}/T3`, 'es', { compare: 'period', compare_key: `${sy(prevYear)}/T1` }],
      ['school_year', '', 'en']];
    for (const [kind, key, lang, cmp = {}] of cases) {
      const q = new URLSearchParams({ kind, lang, ...cmp });
      if (key) q.set('key', key);
      const requests = await open(page, `/sites/${SITE}?${q}`);
      const seen = await checkFigures(page, lang, siteCalls(SITE, kind, key, lang, false, cmp));
      add(seen);
      await noOtherSite(page, requests, seen.bodies);
      if (key.includes('-W')) assert.ok(seen.suppressed > 0, 'a past week at one site has withheld cells, drawn as such');
      const tr = seen.bodies.trends;
      tr.dimensions.forEach((d, i) => d.points.forEach((p, j) => assert.ok(
        seen.paths.has(`trends.dimensions.${i}.points.${j}.mean_level`) || seen.paths.has(`trends.dimensions.${i}.points.${j}`), `trend point ${i}/${j}`)));
      seen.bodies.coverage.classrooms.forEach((c, i) => assert.ok(seen.paths.has(`coverage.classrooms.${i}.days_since_last_visit`), `classroom ${c.classroom_id}`));
      // Never-visited classrooms first.
      const days = await page.$$eval('#coverage [data-path$=days_since_last_visit]', (els) => els.map((e) => e.dataset.value ?? null));
      const firstSeen = days.findIndex((d) => d !== null);
      assert.ok(firstSeen === -1 || days.slice(firstSeen).every((d) => d !== null), 'never visited first');
      assert.ok(seen.bodies.calibration.observers.every((o) => o.observer_id === env.PRINCIPAL), 'only their own calibration');
      const last = tr.periods[tr.periods.length - 1];
      const partial = await page.locator('.partial').count();
      assert.equal(partial, last.partial ? 1 : 0, 'a period in progress says it is partial');
      if (lang === 'es') {
        const es = Object.values(seen.bodies.rubric.version.content.dimensions[0].title)[0];
        await page.getByRole('heading', { name: 'Tendencias por dimensión' }).waitFor();
        if (tr.dimensions.length) await page.locator('figcaption', { hasText: es }).first().waitFor();
        assert.equal(await page.evaluate(() => document.documentElement.lang), 'es');
      }
      if (kind === 'month' && !key && !cmp.compare) { await a11y(page, 'site'); await shot(page, 'site'); }
      if (kind === 'week') await a11y(page, 'site (week, es)');
      // A comparison: the last point's changes are against the period asked for, and say so.
      if (cmp.compare) {
        assert.equal(tr.previous.key, cmp.compare === 'last_year' ? `${Number(last.key.slice(0, 4)) - 1}${last.key.slice(4)}` : cmp.compare_key);
        assert.ok((await page.locator('p.previous').innerText()).includes(tr.previous.key));
        assert.equal(await page.locator('#compare').inputValue(), cmp.compare);
        assert.ok(tr.dimensions.some((d) => d.points[d.points.length - 1].change?.status === 'PERIOD_CHANGE_STATUS_COMPARED'), 'changes were compared');
      }
      // The third term of the previous school year has lessons on rubric version 2, which
      // changed NEW_DIM's meaning: two series of it, drawn as two lines, and "not comparable".
      if (key === `${sy(prevYear)}/T3`) await seriesBreak(page, tr, lang);
    }

    // The first Tab stop skips to the content.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');

    // Coach: an assigned site other than the first, with the site switcher.
    await api(page, 'POST', '/auth/logout');
    await context.clearCookies();
    await signIn(page, env.COACH, '/');
    await page.waitForURL(/\/sites\//);
    const me = await api(page, 'GET', '/auth/session');
    const site2 = me.body.site_ids[1];
    await open(page, `/sites/${site2}?kind=term`);
    const cs = await checkFigures(page, 'en', siteCalls(site2, 'term', '', 'en', true));
    add(cs);
    assert.equal(await page.locator('nav.sites a').count(), me.body.site_ids.length, (await page.locator('main').innerHTML()).slice(0, 1500));
    assert.equal(await page.locator('nav.sites a[aria-current=page]').count(), 1);
    assert.ok(cs.bodies.calibration.observers.every((o) => o.observer_id === env.COACH), 'a coach sees only their own calibration');
    // ... and switches to their first site from the switcher, with the keyboard.
    const site1 = me.body.site_ids[0];
    await page.locator(`nav.sites a[href^="/sites/${site1}"]`).focus();
    await Promise.all([page.waitForURL(new RegExp(`/sites/${site1.replace(/\./g, '\\.')}\\?kind=term`)), page.keyboard.press('Enter')]);
    await page.locator('main[data-ready=true]').waitFor();
    const cs1 = await checkFigures(page, 'en', siteCalls(site1, 'term', '', 'en', true));
    add(cs1);
    assert.equal(await page.locator('nav.sites a[aria-current=page]').innerText(), cs1.bodies.trends.site_name);
    assert.notEqual(cs1.bodies.trends.site_name, cs.bodies.trends.site_name);

    // Network analyst: the network page; the district page is not theirs.
    await api(page, 'POST', '/auth/logout');
    await context.clearCookies();
    await signIn(page, env.ANALYST, '/');
    await page.waitForURL(/\/network/);
    for (const [kind, lang] of [['', 'en'], ['month', 'es']]) {
      await open(page, `/network?${new URLSearchParams(kind ? { kind, lang } : { lang })}`);
      const q = periodQ(kind, '');
      const ns = await checkFigures(page, lang, { network: `/v1/network/progress?${q}&language=${lang}` });
      add(ns);
      assert.ok(ns.bodies.network.districts.length >= 2 && ns.bodies.network.districts.every((d) => d.district_id !== 'mesa-verde-sd'), 'opted-in districts only');
      const text = await page.locator('main').innerText();
      for (const d of ns.bodies.network.districts) {
        if (d.period?.first_day) assert.ok(text.includes(d.period.first_day) && text.includes(d.period.last_day), `${d.district_name}'s own period is shown`);
      }
      if (!kind) { await a11y(page, 'network'); await shot(page, 'network'); }
    }
    await page.goto(BASE + '/district');
    await page.getByText('There is no page for your role here.').waitFor();

    // Across the pages: values, withheld cells and empty cells were all drawn and checked.
    console.log('figures checked:', totals);
    assert.ok(totals.value > 500 && totals.suppressed > 0 && totals['no-data'] > 0, JSON.stringify(totals));
  } finally {
    await context.close();
  }
});
