// What the app reads besides its own records: who is signed in, the roster slice in the person's
// scope and the rubrics. Reads go through the service worker, which answers from its cache when
// the network does not (sw.js), so after one online visit all of it is there offline.
import { session } from '../shared/session.js';

const USER_KEY = 'lookfor.app.user';

async function getJSON(path) {
  const r = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!r.ok) throw new Error(`GET ${path} answered ${r.status}`);
  return r.json();
}

async function getAll(path, key) {
  const out = [];
  let token = '';
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await getJSON(`${path}${sep}page_size=1000${token ? '&page_token=' + encodeURIComponent(token) : ''}`);
    out.push(...(page[key] ?? []));
    token = page.next_page_token;
  } while (token);
  return out;
}

// whoami is the person the app records for: the signed-in session when the server answers, else
// the person who last signed in on this tablet (offline, or the session has ended). signedOut is
// true when the server said the session has ended: the app still records, and sync asks the
// person to sign in again.
export async function whoami() {
  const stored = JSON.parse(localStorage.getItem(USER_KEY) ?? 'null');
  let s = null;
  try { s = await session(true); } catch { /* offline */ }
  if (s?.signed_in) {
    const user = { user_id: s.user_id, role: s.role, district_id: s.district_id, site_ids: s.site_ids ?? [] };
    if (stored && stored.user_id !== user.user_id) navigator.serviceWorker?.controller?.postMessage('clear-data');
    localStorage.setItem(USER_KEY, JSON.stringify(user));
    return { user, signedOut: false };
  }
  return { user: stored, signedOut: !!s };
}

// loadRoster returns the sites in scope, their classrooms (with district_id), the teachers'
// names and the district's student groups.
export async function loadRoster(user) {
  const d = encodeURIComponent(user.district_id);
  let sites = await getAll(`/v1/districts/${d}/sites`, 'sites');
  if (user.role === 'coach' || user.role === 'principal') sites = sites.filter((s) => user.site_ids.includes(s.site_id));
  const classrooms = new Map(), staff = new Map();
  await Promise.all(sites.map(async (s) => {
    const sid = encodeURIComponent(s.site_id);
    const [cs, st] = await Promise.all([
      getAll(`/v1/districts/${d}/sites/${sid}/classrooms`, 'classrooms'),
      getAll(`/v1/districts/${d}/staff?site_id=${sid}`, 'staff'),
    ]);
    for (const c of cs) classrooms.set(c.classroom_id, { ...c, district_id: user.district_id });
    for (const p of st) staff.set(p.staff_id, p);
  }));
  const groups = (await getJSON(`/v1/districts/${d}/student_groups`)).student_groups ?? [];
  return { sites, classrooms, staff, groups };
}

const rubrics = new Map();

// rubric returns a rubric version in both languages: {rubric_id, version, status, content:
// {en, es}}. The service worker revalidates it with its ETag (a 304 when unchanged).
export async function rubric(id, version) {
  const k = `${id}:${version}`;
  if (!rubrics.has(k)) {
    const p = (async () => {
      const [en, es] = await Promise.all(['en', 'es'].map((l) => getJSON(`/v1/rubrics/${encodeURIComponent(id)}/versions/${version}?language=${l}`)));
      return { rubric_id: id, version: en.version.version, status: en.version.status, content: { en: en.version.content, es: es.version.content } };
    })();
    rubrics.set(k, p);
    p.catch(() => rubrics.delete(k));
  }
  return rubrics.get(k);
}

// forget drops the rubric versions held in memory (the pull announced rubric changes).
export function forget() { rubrics.clear(); }

// currentRubric is the rubric a new observation uses: the district's own published rubric if it
// has one, else the network's.
export async function currentRubric(user) {
  const list = (await getJSON('/v1/rubrics')).rubrics ?? [];
  const usable = list.filter((r) => r.latest_published_version > 0);
  const pick = usable.find((r) => r.owner_id === user.district_id) ?? usable.find((r) => r.owner_id === 'network') ?? usable[0];
  if (!pick) throw new Error('no published rubric');
  return rubric(pick.rubric_id, pick.latest_published_version);
}
