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
const prevYear = Number(env.PREVIOUS_YEAR_START.slice(0, 4));
const sy = (y) => `${y}-${String((y + 1) % 100).padStart(2, '0')}`;
const enc = encodeURIComponent;

// fmt is how the page must print a number (written here again, not imported from the page).
function fmt(lang, kind, v, signed) {
  const d = { mean: 2, ratio: 3, rate: 2, count: 0, pct: 1 }[kind];
  return new Intl.NumberFormat(lang, { style: kind === 'pct' ? 'percent' : 'decimal', minimumFractionDigits: d, maximumFractionDigits: d, signDisplay: signed ? 'exceptZero' : 'auto' }).format(v);
}

function periodQ(kind, key) {
  const q = new URLSearchParams();
  if (kind) q.set('period.kind', kind);
  if (key) q.set('period.key', key);
  return q.toString();
}

// expected are the calls each page must make, built from the role's own view of the world.
function siteCalls(site, kind, key, lang, multi) {
  const q = periodQ(kind, key), v = `/v1/districts/${enc(D)}`;
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
function districtCalls(kind, key, lang) {
  const q = periodQ(kind, key), v = `/v1/districts/${enc(D)}`;
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
  const seen = { value: 0, suppressed: 0, 'no-data': 0, absent: 0, text: 0, paths: new Set(), bodies };
  const withheld = lang === 'es' ? 'Reservado' : 'Withheld', noData = lang === 'es' ? 'sin observaciones' : 'no observations';
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
    for (const [kind, key, lang, measure] of [['', '', 'en', ''], ['term', `${sy(prevYear)}/T2`, 'en', 'share'], ['month', '', 'es', ''], ['window', `${sy(prevYear)}/baseline`, 'en', '']]) {
      const q = new URLSearchParams({ kind, key, lang, measure });
      for (const [k, v] of [...q]) if (!v) q.delete(k);
      await open(page, `/district?${q}`);
      const seen = await checkFigures(page, lang, districtCalls(kind, key, lang));
      add(seen);
      const pr = seen.bodies.progress;
      assert.ok(pr.sites.length === 4, 'the district page shows every site');
      pr.sites.forEach((s, i) => s.dimensions.forEach((d, j) => assert.ok(
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
    await page.keyboard.press('Tab'); // the button
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Show');
    await Promise.all([page.waitForURL(/kind=term/), page.keyboard.press('Enter')]);
    await page.locator('main[data-ready=true]').waitFor();
    assert.match(page.url(), /measure=share/, 'the picker keeps the measure');
    // CSV of a view, as the page links it.
    const csv = await page.locator('#coverage a.csv').getAttribute('href');
    const got = await api(page, 'GET', csv);
    assert.equal(got.status, 200);
    assert.match(String(got.body), /Lincoln Elementary School/);
    await api(page, 'POST', '/auth/logout');

    // Principal: own site only, several periods, both languages.
    await context.clearCookies();
    await signIn(page, env.PRINCIPAL, '/');
    await page.waitForURL(new RegExp(`/sites/${SITE.replace(/\./g, '\\.')}`));
    const cases = [['month', '', 'en'], ['week', '', 'es'], ['term', `${sy(prevYear)}/T1`, 'en'], ['month', `${prevYear + 1}-07`, 'en'], ['week', `${prevYear}-W42`, 'en'], ['school_year', '', 'en']];
    for (const [kind, key, lang] of cases) {
      const q = new URLSearchParams({ kind, lang });
      if (key) q.set('key', key);
      const requests = await open(page, `/sites/${SITE}?${q}`);
      const seen = await checkFigures(page, lang, siteCalls(SITE, kind, key, lang, false));
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
      if (kind === 'month' && !key) { await a11y(page, 'site'); await shot(page, 'site'); }
      if (kind === 'week') await a11y(page, 'site (week, es)');
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
