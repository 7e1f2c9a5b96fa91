// The pages' entry point. Who is signed in comes from GET /auth/session (lookfor's web sign-in;
// anyone else is offered the sign-in link). Routes, all client-side, with the period, measure and
// language in the query string so a URL can be shared:
//
//   /                 each role's own page (principal and coach: their first site; district
//                     admin: /district; network analyst and admin: /network)
//   /sites/{site_id}  a site's progress
//   /district         the district's progress
//   /network          the network's shared measures
//
// A page's first render makes one round of API calls, all at once (Promise.all), as the signed-in
// person through the REST gateway: the same access rules as any other client.
import { session, signInURL, signInByEmail, signOut } from '../shared/session.js';
import { h } from './dom.js';
import { strings, languages } from './i18n.js';
import { picker, periodQuery, describe } from './period.js';
import { siteCalls, sitePage } from './site.js';
import { districtCalls, districtPage, networkCalls, networkPage } from './district.js';

const main = document.getElementById('main');
const params = new URLSearchParams(location.search);
const lang = languages[params.get('lang')] ? params.get('lang') : 'en';
const t = strings(lang);
document.documentElement.lang = lang;

// The page state from the query string.
const st = {
  kind: params.get('kind') || '',
  key: params.get('key') || '',
  measure: params.get('measure') === 'share' ? 'share' : 'mean',
  periods: Math.min(36, Math.max(1, Number(params.get('periods')) || 6)),
  // What changes are measured against: '' (the previous period), last_year, or period with
  // compare_key (a chosen period of the same kind).
  compare: ['last_year', 'period'].includes(params.get('compare')) ? params.get('compare') : '',
  compareKey: params.get('compare_key') || '',
};
if (st.compare === 'period' && !st.compareKey) st.compare = '';
st.query = periodQuery(st);
st.periodOnly = periodQuery(st, false);

// href is a page URL keeping the current query (language, period, measure) with changes.
function href(path, changes = {}) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) (v === null || v === '' ? q.delete(k) : q.set(k, v));
  const s = q.toString();
  return path + (s ? '?' + s : '');
}

// load makes every call at once and resolves to { name: { ok, status, body, url } }.
async function load(calls) {
  const entries = await Promise.all(Object.entries(calls).map(async ([name, url]) => {
    try {
      const r = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
      const body = await r.json().catch(() => ({}));
      return [name, { ok: r.ok, status: r.status, body, url }];
    } catch (e) {
      return [name, { ok: false, status: 0, body: { message: String(e) }, url }];
    }
  }));
  return Object.fromEntries(entries);
}

function failure(res) {
  return h('p', { class: 'error', role: 'alert' }, t.error(res.status, res.body?.message ?? ''));
}

function header(s) {
  document.querySelector('.skip').textContent = t.skip;
  const head = document.querySelector('header');
  head.textContent = '';
  const nav = h('nav', { 'aria-label': 'lookfor' }, h('a', { class: 'brand', href: href('/') }, 'lookfor'));
  if (s.signed_in) {
    if (s.role === 'district_admin') nav.append(h('a', { href: href('/district') }, t.districtPage));
    if (s.role === 'network_analyst' || s.role === 'admin') nav.append(h('a', { href: href('/network') }, t.networkPage));
  }
  const langs = h('p', { class: 'langs' }, t.language + ': ', Object.entries(languages).map(([k, name], i) => [i ? ' · ' : '',
    h('a', { href: href(location.pathname, { lang: k }), hreflang: k, lang: k, 'aria-current': k === lang ? 'true' : null }, name)]));
  head.append(nav, langs);
  if (s.signed_in) {
    head.append(h('span', { id: 'who' }, s.user_id),
      h('button', { type: 'button', on: { click: async () => { await signOut(); location.assign('/'); } } }, t.signOut));
  }
}

function role(s) { return (s.role ?? '').replace(/^ROLE_/, '').toLowerCase(); }

async function run() {
  const s = await session();
  s.role = role(s);
  header(s);
  main.textContent = '';
  if (!s.signed_in) {
    const back = location.pathname + location.search;
    main.append(h('p', {}, h('a', { href: signInURL(back) }, t.signIn)),
      signInByEmail(back, { email: t.signInEmail, button: t.signInEmailButton }));
    main.dataset.ready = 'signed-out';
    return;
  }
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const m = path.match(/^\/sites\/([^/]+)$/);
  if (path === '/') {
    const to = s.role === 'district_admin' ? '/district'
      : (s.role === 'network_analyst' || s.role === 'admin') ? '/network'
        : (s.site_ids ?? []).length ? `/sites/${s.site_ids[0]}` : null;
    if (to) { history.replaceState(null, '', href(to)); return run(); }
    main.append(h('p', {}, t.noSites));
    main.dataset.ready = 'none';
    return;
  }
  const app = { t, lang, st, href, failure, district: s.district_id, site: m ? decodeURIComponent(m[1]) : '' };
  let calls, render;
  const siteRoles = ['principal', 'coach', 'district_admin'];
  if (m && s.district_id && siteRoles.includes(s.role)) [calls, render] = [siteCalls(s, s.district_id, app.site, st, lang), sitePage];
  else if (path === '/district' && s.district_id && s.role === 'district_admin') [calls, render] = [districtCalls(s, s.district_id, st, lang), districtPage];
  else if (path === '/network' && (s.role === 'network_analyst' || s.role === 'admin')) [calls, render] = [networkCalls(st, lang), networkPage];
  else { main.append(h('p', {}, t.noPage)); main.dataset.ready = 'none'; return; }

  main.append(h('p', { 'aria-live': 'polite' }, t.loading));
  const r = await load(calls);
  app.periodLines = (period, previous, withCompare = true) => [
    picker(t, st, r.settings?.ok ? r.settings.body.settings : null, { lang: lang === 'en' ? '' : lang, measure: st.measure === 'share' ? 'share' : '', periods: params.get('periods') }, withCompare, st.key || period?.key || ''),
    ...describe(t, period, previous)];
  main.textContent = '';
  main.dataset.calls = JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.url])));
  main.append(...render(app, r));
  scrollables();
  main.dataset.ready = 'true';
}

// scrollables makes a table that is wider than the screen (a tablet held upright) a focusable,
// labelled region, so it can be scrolled from the keyboard; tables that fit add no tab stop.
function scrollables() {
  for (const w of document.querySelectorAll('.table-wrap')) {
    if (w.scrollWidth > w.clientWidth + 1) {
      w.tabIndex = 0;
      w.setAttribute('role', 'region');
      w.setAttribute('aria-label', w.querySelector('caption')?.textContent || w.closest('section')?.querySelector('h2')?.textContent || '');
    } else {
      w.removeAttribute('tabindex');
      w.removeAttribute('role');
      w.removeAttribute('aria-label');
    }
  }
}
addEventListener('resize', scrollables);

run().catch((e) => {
  main.textContent = '';
  main.append(failure({ status: 0, body: { message: String(e) } }));
  main.dataset.ready = 'error';
});
