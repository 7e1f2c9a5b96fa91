// The period picker: kind (school year, term, month, week, the district's windows) and which one.
// The choice lives in the URL (?kind=&key=) so a page can be shared; an empty key is the period
// of that kind containing today, as the API reads it. Keys are listed here only to offer a
// choice; the API resolves every period.
import { h } from './dom.js';

export const kinds = ['school_year', 'term', 'month', 'week', 'window'];

// The comparisons the API offers (compare.against): the previous period (its default), the same
// period a year earlier, or a chosen period of the same kind (compare.key).
export const compares = ['previous', 'last_year', 'period'];

// periodQuery is the API's period parameters for the state, with the comparison unless
// withCompare is false (the network measures are always against the previous period).
export function periodQuery(st, withCompare = true) {
  const q = new URLSearchParams();
  if (st.kind) q.set('period.kind', st.kind);
  if (st.key) q.set('period.key', st.key);
  if (withCompare && st.compare) {
    q.set('compare.against', st.compare);
    if (st.compare === 'period') q.set('compare.key', st.compareKey);
  }
  return q;
}

// schoolYear is the key ("2026-27") of the school year containing date d, starting in startMonth.
function schoolYear(d, startMonth) {
  const y = d.getUTCMonth() + 1 >= startMonth ? d.getUTCFullYear() : d.getUTCFullYear() - 1;
  return `${y}-${String((y + 1) % 100).padStart(2, '0')}`;
}

function isoWeek(d) {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const y = t.getUTCFullYear();
  const w = Math.ceil(((t - Date.UTC(y, 0, 1)) / 86400000 + 1) / 7);
  return `${y}-W${String(w).padStart(2, '0')}`;
}

// keysFor lists recent keys of kind, newest first, from today (settings may be null: network).
export function keysFor(kind, settings, today = new Date()) {
  const start = settings?.school_year_start_month || 8;
  const years = [0, 1, 2].map((i) => schoolYear(new Date(Date.UTC(today.getUTCFullYear() - i, today.getUTCMonth(), 15)), start));
  switch (kind) {
    case 'school_year': return years;
    case 'term': return years.slice(0, 2).flatMap((y) => [`${y}/T3`, `${y}/T2`, `${y}/T1`]);
    case 'window': return years.slice(0, 2).flatMap((y) => (settings?.windows ?? []).map((w) => ({ key: `${y}/${w.key}`, label: `${w.title} ${y}` })));
    case 'month': return Array.from({ length: 18 }, (_, i) => {
      const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - i, 1));
      return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    });
    case 'week': return Array.from({ length: 12 }, (_, i) => isoWeek(new Date(today.getTime() - i * 7 * 86400000)));
    default: return [];
  }
}

// picker is the period form: choosing a kind or key navigates to the same page with the new
// query (a GET form, so it works from the keyboard and the URL stays shareable). With
// withCompare it also offers what changes are measured against (?compare=&compare_key=); the
// chosen period's list is enabled only when "a chosen period" is.
export function picker(t, st, settings, extra = {}, withCompare = true, periodKey = st.key) {
  const opts = keysFor(st.kind, settings).map((k) => (typeof k === 'string' ? { key: k, label: k } : k));
  if (st.key && !opts.some((o) => o.key === st.key)) opts.unshift({ key: st.key, label: st.key });
  const allowed = settings ? kinds : kinds.filter((k) => k !== 'window');
  const form = h('form', { class: 'picker', method: 'get', 'aria-label': t.period },
    h('label', {}, t.period + ' ',
      h('select', { name: 'kind', id: 'period-kind' }, allowed.map((k) => h('option', { value: k, selected: k === st.kind }, t.kinds[k])))),
    h('label', {}, t.key + ' ',
      h('select', { name: 'key', id: 'period-key' },
        h('option', { value: '', selected: !st.key }, t.current),
        opts.map((o) => h('option', { value: o.key, selected: o.key === st.key }, o.label)))),
    withCompare ? comparePicker(t, st, keysFor(st.kind, settings).map((k) => (typeof k === 'string' ? { key: k, label: k } : k)), periodKey) : null,
    Object.entries(extra).map(([k, v]) => (v ? h('input', { type: 'hidden', name: k, value: v }) : null)),
    h('button', { type: 'submit' }, t.show));
  const against = form.querySelector('#compare'), other = form.querySelector('#compare-key');
  // A new kind makes the old key, and a chosen comparison period, meaningless.
  form.querySelector('#period-kind').addEventListener('change', () => {
    form.querySelector('#period-key').value = '';
    if (against?.value === 'period') { against.value = ''; other.disabled = true; }
  });
  against?.addEventListener('change', () => { other.disabled = against.value !== 'period'; });
  return form;
}

// describe is the line under a page title: the resolved period, partial or not, and what
// changes are measured against.
export function describe(t, period, previous) {
  if (!period) return [];
  const out = [h('p', { class: 'period', 'data-period-key': period.key, 'data-partial': String(!!period.partial) },
    h('strong', {}, `${t.kinds[period.kind] ?? period.kind} ${period.key}`), ' · ', period.first_day ? t.periodRange(period) : t.ownCalendars)];
  if (period.partial && period.first_day) out.push(h('p', { class: 'partial', role: 'note' }, t.partial(period)));
  if (previous?.key && previous.first_day) out.push(h('p', { class: 'previous' }, t.previous(previous)));
  return out;
}

// comparePicker is the comparison part of the period form: previous period (sent as no
// parameter, the API's default), same period last year, or a chosen period of the same kind
// before the shown one (periodKey, as the API resolved it; keys of a kind sort by time, except
// windows within a school year, which the API checks).
function comparePicker(t, st, opts, periodKey) {
  const before = (k) => (st.kind === 'window' ? k.split('/')[0] <= periodKey.split('/')[0] : k < periodKey);
  const others = opts.filter((o) => o.key !== periodKey && (!periodKey || before(o.key)));
  if (st.compareKey && !others.some((o) => o.key === st.compareKey)) others.unshift({ key: st.compareKey, label: st.compareKey });
  const chosen = st.compare === 'period';
  return [
    h('label', {}, t.compareWith + ' ',
      h('select', { name: 'compare', id: 'compare' }, compares.map((c) => h('option', { value: c === 'previous' ? '' : c, selected: (st.compare || 'previous') === c }, t.compares[c])))),
    h('label', {}, t.comparePeriod + ' ',
      h('select', { name: 'compare_key', id: 'compare-key', disabled: !chosen }, others.map((o) => h('option', { value: o.key, selected: o.key === st.compareKey }, o.label)))),
  ];
}
