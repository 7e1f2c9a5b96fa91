// The tablet app (/app/): record observations offline, sync without losing one. Recording never
// waits for the network: a save is one IndexedDB transaction (outbox.js); sync (sync.js) runs
// when the network returns, every minute while online, after a save and on demand.
import { signInURL, signInByEmail, api } from '../shared/session.js';
import { h, announce, patch } from './dom.js';
import { t, text, language, setLanguage } from './i18n.js';
import { open, newID } from './outbox.js';
import { validate } from './validate.js';
import { Syncer } from './sync.js';
import { fromWire } from './record.js';
import { whoami, loadRoster, currentRubric, rubric as loadRubric, forget } from './data.js';
import { renderForm } from './form.js';

const main = document.getElementById('main');
const bar = document.getElementById('status');
const app = { syncing: false, error: null };
window.lookforApp = app; // the browser tests and the benchmark drive the same functions
Object.assign(app, { validate, newID });

setLanguage(language());
if ('serviceWorker' in navigator) {
  app.worker = navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch((e) => console.warn('service worker:', e));
}

app.ready = start();

async function start() {
  const { user, signedOut } = await whoami();
  if (!user) {
    main.replaceChildren(h('p', null, h('a', { href: signInURL('/app/'), class: 'button' }, t('signIn'))),
      signInByEmail('/app/', { email: t('signInEmail'), button: t('signInEmailButton') }));
    return;
  }
  app.user = user;
  app.signedOut = signedOut;
  document.getElementById('who').textContent = `${user.user_id} (${user.role})`;
  app.outbox = await open(user.user_id);
  app.syncer = new Syncer(app.outbox, user.user_id);
  // Ask the browser to keep the outbox when storage runs short.
  app.persistRequested = true;
  app.persisted = navigator.storage?.persist ? await navigator.storage.persist().catch(() => false) : false;
  if (navigator.serviceWorker && !navigator.serviceWorker.controller) {
    // First visit: let the worker take control so the roster and rubrics below land in its cache.
    await Promise.race([navigator.serviceWorker.ready, new Promise((r) => setTimeout(r, 3000))]);
    await Promise.race([new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true })), new Promise((r) => setTimeout(r, 1500))]);
  }
  try {
    [app.roster, app.rubric] = await Promise.all([loadRoster(user), currentRubric(user)]);
  } catch (e) {
    console.warn('roster/rubric:', e);
  }
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => { status(); sync(); });
  window.addEventListener('offline', () => status());
  setInterval(() => { if (navigator.onLine) sync(); }, 60000);
  await route();
  await status();
  if (navigator.onLine && !signedOut) sync();
}

// save and remove are the recording actions; both return once the change is on the tablet and
// ask for a sync without waiting for it.
app.save = async (record) => { const out = await app.outbox.save(record); soon(); return out; };
app.remove = async (id) => { const seq = await app.outbox.remove(id); soon(); return seq; };
let soonTimer = 0;
function soon() {
  clearTimeout(soonTimer);
  soonTimer = setTimeout(() => { if (navigator.onLine) sync(); }, 1000);
  status();
}

// sync runs one sync and resolves to its report (null when it failed: app.error says why). A
// request made while one runs queues one more run, which every request made meanwhile shares.
app.sync = sync;
let chain = Promise.resolve(), queued = null;
function sync(opts = {}) {
  if (queued) return queued;
  queued = chain.then(() => { queued = null; return runSync(opts); });
  chain = queued.catch(() => {});
  return queued;
}

async function runSync({ reconcile = false }) {
  if (!app.syncer) return null;
  app.syncing = true;
  document.body.dataset.sync = 'running';
  status();
  let report = null;
  try {
    const t0 = performance.now();
    report = await app.syncer.sync({ reconcile });
    app.lastSync = { ms: performance.now() - t0, report };
    app.error = null;
    app.signedOut = false;
    if (report.rubrics > 0) { // a rubric version was published or retired: read them again
      forget();
      app.rubric = await currentRubric(app.user).catch(() => app.rubric);
    }
  } catch (e) {
    app.error = e;
    if (e.kind === 'unauthenticated') app.signedOut = true;
    console.warn('sync:', e);
  } finally {
    app.syncing = false;
    document.body.dataset.sync = app.error ? 'error' : 'idle';
  }
  await status();
  if (!location.hash.startsWith('#/obs/') && !location.hash.startsWith('#/new')) await route();
  return report;
}

async function status() {
  if (!app.outbox) return;
  const s = await app.outbox.status();
  document.body.dataset.waiting = String(s.waiting);
  const last = s.lastSync ? new Date(s.lastSync).toLocaleString(language()) : null;
  patch(bar, [
    h('span', { id: 'net', class: navigator.onLine ? 'ok' : 'warn' }, navigator.onLine ? t('online') : t('offline')),
    h('span', { id: 'waiting' }, t('waiting', s.waiting)),
    h('span', { id: 'last-sync' }, last ? t('lastSync', last) : t('never')),
    h('span', { id: 'persist' }, app.persisted ? t('persisted') : t('notPersisted')),
    app.signedOut ? h('span', { id: 'signin-again', class: 'warn' }, t('signInAgain'), ' ', h('a', { href: signInURL('/app/'), class: 'button' }, t('signIn'))) : null,
    app.error && app.error.kind !== 'unauthenticated' ? h('span', { id: 'sync-error', class: 'warn' }, app.error.message) : null,
    h('button', { type: 'button', id: 'sync-now', disabled: app.syncing, onclick: () => sync({ reconcile: true }) }, app.syncing ? t('syncing') : t('syncNow')),
  ].filter(Boolean));
}

// route draws the view the location names. Views read IndexedDB before they draw; a later route
// (the person tapped on, or a sync finished) makes an earlier one's drawing moot, so each view
// checks live() after its reads and never replaces what a newer route drew.
let routes = 0;
async function route() {
  const mine = ++routes;
  const live = () => mine === routes;
  const [, view, id] = location.hash.split('/');
  if (!app.roster || !app.rubric) {
    main.replaceChildren(h('p', { class: 'warn' }, t('loadFailed')));
    return;
  }
  if (view === 'new') return renderForm(main, app, null, home, live);
  if (view === 'obs' && id) {
    const e = await app.outbox.record(id);
    if (e && live()) return renderForm(main, app, e, home, live);
  }
  if (view === 'conflict' && id) return renderConflict(id, live);
  return renderList(live);
}

function home() { if (location.hash === '#/' || location.hash === '') route(); else location.hash = '#/'; }

// stateOf is what the list shows about a record's sync.
function stateOf(e) {
  if (e.meta.conflict) return ['conflict', t('stConflict')];
  if (e.meta.rejected) return ['rejected', t('stRejected')];
  if (e.meta.pending_seqs.length > 0) return ['waiting', t('stWaiting')];
  if (e.meta.hash_mismatch) return ['mismatch', t('stMismatch')];
  return ['synced', t('stSynced')];
}

// LIST_SHOWN is how many synced observations the list shows (newest first) until the person asks
// for all: a coach's scope can hold thousands, and the list is redrawn after every sync. Those
// waiting, rejected or in conflict are always shown.
const LIST_SHOWN = 200;
let showAll = false;

async function renderList(live = () => true) {
  const all = (await app.outbox.records()).sort((a, b) => b.record.started_at.localeCompare(a.record.started_at) || a.id.localeCompare(b.id));
  if (!live()) return;
  let synced = 0;
  const entries = showAll ? all : all.filter((e) => stateOf(e)[0] !== 'synced' || synced++ < LIST_SHOWN);
  const cls = app.roster.classrooms, staff = app.roster.staff;
  const name = (id) => { const p = staff.get(id); return p ? `${p.given_name} ${p.family_name}` : id; };
  // patch, not replaceChildren: "New" stays the same element when a sync redraws the list, so
  // a tap on it never falls between two drawings.
  patch(main, [
    h('div', { class: 'actions' }, h('a', { href: '#/new', id: 'new', class: 'button' }, t('newObs'))),
    h('h1', null, t('observations')),
    entries.length === 0 ? h('p', null, t('none')) : h('ul', { id: 'list', class: 'list' }, entries.map((e) => {
      const r = e.record;
      const [state, label] = stateOf(e);
      const cl = cls.get(r.classroom_id);
      return h('li', { 'data-id': e.id, 'data-state': state, 'data-status': r.status, 'data-hash': e.meta.local_hash ?? '' },
        h('div', { class: 'what' },
          h('strong', null, `${cl ? cl.course + (cl.section ? ' (' + cl.section + ')' : '') : r.classroom_id} — ${name(r.teacher_id)}`),
          h('span', null, `${t(r.kind)} · ${new Date(r.started_at).toLocaleString(language())} · ${t(r.status)}`),
          e.meta.rejected ? h('span', { class: 'error' }, `${e.meta.rejected.field}: ${e.meta.rejected.message}`) : null),
        h('span', { class: 'badge ' + state }, label),
        state === 'conflict'
          ? h('a', { href: '#/conflict/' + e.id, class: 'button', 'aria-label': `${t('resolve')}: ${name(r.teacher_id)}` }, t('resolve'))
          : h('a', { href: '#/obs/' + e.id, class: 'button secondary', 'aria-label': `${t('edit')}: ${name(r.teacher_id)} ${r.started_at}` }, t('edit')));
    })),
    entries.length < all.length
      ? h('button', { type: 'button', id: 'show-all', class: 'secondary', onclick: () => { showAll = true; route(); } }, t('showAll', all.length))
      : null,
  ].filter(Boolean));
}

// renderConflict shows both versions side by side; the observer (who proposed the change)
// resolves it on the server, which keeps the decision and the audit trail.
async function renderConflict(id, live) {
  const cs = (await app.outbox.conflicts()).filter((c) => c.local.observation_id === id);
  const e = await app.outbox.record(id);
  if (cs.length === 0 || !e) return renderList(live);
  const last = cs[cs.length - 1];
  const mine = last.local.record ?? null;
  const theirs = last.result.server ? fromWire(last.result.server.record) : null;
  const rv = await loadRubric(e.record.rubric_id, e.record.rubric_version);
  if (!live()) return;
  const c = rv.content[language()] ?? rv.content.en;
  const level = (r, d) => { const s = r?.scores.find((x) => x.dimension === d); return s ? (s.not_observed ? t('notObserved') : String(s.level)) : '—'; };
  const rows = [
    [t('kind'), (r) => (r ? t(r.kind) : '—')], [t('duration'), (r) => r?.duration_minutes ?? '—'], [t('discussion'), (r) => r?.discussion_minutes ?? '—'],
    ...(c.dimensions ?? []).map((d) => [text(d.title), (r) => level(r, d.key)]),
    [t('talk'), (r) => (r ? r.tallies.reduce((n, x) => n + x.count, 0) : '—')],
    [t('focus'), (r) => r?.lesson_focus ?? ''], [t('nextSteps'), (r) => r?.next_steps ?? ''],
  ];
  const resolve = async (choice) => {
    if (!navigator.onLine) { announce(t('resolveOnline'), 'warn'); return; }
    let observation = null;
    for (const cf of cs) {
      const r = await api('POST', `/v1/conflicts/${cf.result.conflict_id}:resolve`, { choice });
      const b = await r.json().catch(() => ({}));
      if (r.ok) observation = b.observation;
      else if (!JSON.stringify(b).includes('CONFLICT_RESOLVED')) { announce(`${b.message ?? r.status}`, 'warn'); return; }
    }
    if (!observation) {
      const r = await api('GET', '/v1/observations/' + id);
      if (r.ok) observation = (await r.json()).observation;
    }
    await app.outbox.resolved(id, observation && { record: fromWire(observation.record), revision: observation.revision, content_hash: observation.content_hash });
    announce(t('resolved'));
    home();
  };
  main.replaceChildren(h('h1', null, t('conflictTitle')),
    h('table', { class: 'compare' }, h('thead', null, h('tr', null, h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, t('mine')), h('th', { scope: 'col' }, t('server')))),
      h('tbody', null, rows.map(([label, f]) => h('tr', null, h('th', { scope: 'row' }, label), h('td', null, String(f(mine))), h('td', null, String(f(theirs))))))),
    h('div', { class: 'actions' },
      h('button', { type: 'button', id: 'keep-server', onclick: () => resolve('CONFLICT_CHOICE_KEEP_SERVER') }, t('keepServer')),
      h('button', { type: 'button', id: 'take-mine', onclick: () => resolve('CONFLICT_CHOICE_TAKE_PROPOSED') }, t('takeMine')),
      h('a', { href: '#/', class: 'button secondary' }, t('cancel'))));
}

document.getElementById('lang').addEventListener('change', (e) => {
  setLanguage(e.target.value);
  status();
  // An open form keeps what was typed; the new language shows from the next screen on.
  if (!location.hash.startsWith('#/obs/') && !location.hash.startsWith('#/new')) route();
});
document.getElementById('lang').value = language();
