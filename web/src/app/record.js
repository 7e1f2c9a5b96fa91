// An observation record as the app holds it, its content hash, and its REST (protojson) form.
//
// The app keeps records in the domain form of observation.Record (JSON names, lowercase enum
// values, device times as RFC 3339 strings in UTC): every key present, strings "" and lists []
// when empty. The content hash is the one the server computes (docs/sync-protocol.md §6): hex
// SHA-256 of the canonical JSON — Go's encoding of the record, keys in declared order, empty
// optional values left out, < > & U+2028 U+2029 escaped, times in UTC with the fraction trimmed.
// observation/testdata/content-hash-vectors.json holds vectors that Go and this module share.

// FIELDS is the record's keys in canonical order; true marks the ones left out when empty.
const FIELDS = [
  ['id', false], ['district_id', false], ['site_id', false], ['classroom_id', false],
  ['course', true], ['grade', true], ['section', true], ['teacher_id', false], ['observer_id', false],
  ['observer_role', false], ['kind', false], ['co_observation', true], ['rubric_id', false],
  ['rubric_version', false], ['language', true], ['started_at', false], ['duration_minutes', false],
  ['discussion_minutes', false], ['lesson_focus', true], ['scores', true], ['tallies', true],
  ['participation', true], ['enrolment', true], ['next_steps', true], ['status', false], ['recorded_at', false],
];
const TIMES = new Set(['started_at', 'recorded_at']);
const LISTS = { scores: null, tallies: ['category', 'count'], participation: ['field', 'option', 'count'], enrolment: ['group', 'count'] };

// MERGEABLE is every field a draft merge may take (the JSON names the protocol's `fields` lists).
export const MERGEABLE = FIELDS.map(([k]) => k).filter((k) => !['id', 'district_id', 'observer_id', 'observer_role'].includes(k));

const empty = (v) => v === '' || v === 0 || v === false || v === undefined || v === null || (Array.isArray(v) && v.length === 0);

// utc converts an RFC 3339 time to the canonical form: UTC, seconds, then the fraction without
// trailing zeros (none when zero, at most 9 digits), then Z. Unparseable input is returned as is
// (validation reports it).
export function utc(s) {
  const m = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|([+-])(\d\d):(\d\d))$/.exec(s ?? '');
  if (!m) return s;
  const d = new Date(Date.UTC(2000, +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  d.setUTCFullYear(+m[1]); // Date.UTC reads years below 100 as 19xx
  if (m[9]) d.setTime(d.getTime() - (m[9] === '-' ? -1 : 1) * (+m[10] * 60 + +m[11]) * 60000);
  if (Number.isNaN(d.getTime())) return s;
  const frac = (m[7] ?? '').slice(0, 9).replace(/0+$/, '');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) return s;
  return d.toISOString().slice(0, 19) + (frac ? '.' + frac : '') + 'Z';
}

// nowUTC is the device clock now, in the canonical time form.
export function nowUTC(d = new Date()) { return utc(d.toISOString()); }

// canonical is the record's canonical JSON text.
export function canonical(r) {
  const o = {};
  for (const [k, omit] of FIELDS) {
    let v = r[k];
    if (v === undefined || v === null) v = LISTS[k] !== undefined ? [] : (k.endsWith('_minutes') || k === 'rubric_version' ? 0 : '');
    if (omit && empty(v)) continue;
    if (TIMES.has(k)) v = utc(v);
    else if (k === 'scores') v = v.map(scoreOf);
    else if (LISTS[k]) v = v.map((x) => Object.fromEntries(LISTS[k].map((f) => [f, x[f] ?? (f === 'count' ? 0 : '')])));
    o[k] = v;
  }
  return JSON.stringify(o, (_, v) => (typeof v === 'string' ? v.toWellFormed() : v))
    .replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

function scoreOf(s) {
  const o = { dimension: s.dimension ?? '' };
  if (s.level) o.level = s.level;
  if (s.not_observed) o.not_observed = true;
  if (s.evidence) o.evidence = s.evidence;
  return o;
}

// contentHash is the hex SHA-256 of the canonical JSON (the server's content_hash).
export async function contentHash(r) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical(r)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

// normalize returns the record in the app's form: every key present, texts well-formed (what
// is sent is what is hashed), times canonical.
export function normalize(r) {
  const o = {};
  for (const [k] of FIELDS) {
    let v = r[k];
    if (LISTS[k] !== undefined) v = (v ?? []).map((x) => (k === 'scores'
      ? { dimension: x.dimension ?? '', level: x.level ?? 0, not_observed: !!x.not_observed, evidence: (x.evidence ?? '').toWellFormed() }
      : Object.fromEntries(LISTS[k].map((f) => [f, f === 'count' ? (x[f] ?? 0) : String(x[f] ?? '').toWellFormed()]))));
    else if (k.endsWith('_minutes') || k === 'rubric_version') v = Number(v ?? 0);
    else if (TIMES.has(k)) v = utc(v ?? '');
    else v = String(v ?? '').toWellFormed();
    o[k] = v;
  }
  return o;
}

// Enum names of the REST (protojson) form.
const ROLE = { coach: 'ROLE_COACH', principal: 'ROLE_PRINCIPAL', district_admin: 'ROLE_DISTRICT_ADMIN', network_analyst: 'ROLE_NETWORK_ANALYST', admin: 'ROLE_ADMIN' };
const KIND = { walkthrough: 'OBSERVATION_KIND_WALKTHROUGH', informal: 'OBSERVATION_KIND_INFORMAL', formal: 'OBSERVATION_KIND_FORMAL', calibration: 'OBSERVATION_KIND_CALIBRATION' };
const STATUS = { draft: 'RECORD_STATUS_DRAFT', submitted: 'RECORD_STATUS_SUBMITTED' };
const invert = (m) => Object.fromEntries(Object.entries(m).map(([a, b]) => [b, a]));
const ROLE_OF = invert(ROLE), KIND_OF = invert(KIND), STATUS_OF = invert(STATUS);

// roleOf maps a session or /v1/me role ("coach" or "ROLE_COACH") to the domain name.
export const roleOf = (r) => ROLE_OF[r] ?? r;

// toWire is the record as an ObservationRecord in the gateway's JSON.
export function toWire(r) {
  return {
    ...r,
    observer_role: ROLE[r.observer_role] ?? 'ROLE_UNSPECIFIED',
    kind: KIND[r.kind] ?? 'OBSERVATION_KIND_UNSPECIFIED',
    status: STATUS[r.status] ?? 'RECORD_STATUS_UNSPECIFIED',
    started_at: r.started_at || undefined,
    recorded_at: r.recorded_at || undefined,
  };
}

// fromWire is a record the gateway returned, in the app's form.
export function fromWire(w) {
  return normalize({
    ...w,
    observer_role: ROLE_OF[w.observer_role] ?? '',
    kind: KIND_OF[w.kind] ?? '',
    status: STATUS_OF[w.status] ?? '',
  });
}
