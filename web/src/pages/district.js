// The district page (district admins) and the network page (network analysts): a heat map of
// rows × dimensions (mean level or share proficient), coverage across sites, calibration per
// observer and per dimension, goals; the network's shared measures of opted-in districts.
import { h, cell, num, table, rowHead, section } from './dom.js';
import { calibrationBlock, goalsTable, heatMap, measureSwitch, noTeachers, titleOf } from './views.js';

const enc = encodeURIComponent;

export function districtCalls(s, d, st, lang) {
  const q = st.query.toString();
  const v = `/v1/districts/${enc(d)}`;
  return {
    progress: `${v}/progress?${q}&language=${lang}`,
    coverage: `${v}/progress:coverage?${q}`,
    calibration: `${v}/progress:calibration?${q}&language=${lang}`,
    goals: `${v}/goals`,
    settings: `${v}/settings`,
  };
}

export function districtPage(app, r) {
  const { t, lang, st, district } = app;
  const exp = (view) => `/v1/districts/${enc(district)}/progress:export?view=${view}&${st.query}`;
  const pr = r.progress.body ?? {};
  const out = [h('h1', {}, pr.district_name || district, h('span', { class: 'subtitle' }, ' · ' + t.districtPage))];
  out.push(...app.periodLines(pr.period, pr.previous));
  out.push(h('p', { class: 'legend' }, h('span', { class: 'suppressed swatch', 'aria-hidden': 'true' }), ' ', t.suppressedLegend));
  const names = new Map((pr.sites ?? []).map((x) => [x.site_id, x.site_name]));
  const ctx = { t, lang, view: 'progress', rules: pr.suppression ?? {} };
  out.push(section('heatmap', t.heatmap, exp('district_progress'), t,
    r.progress.ok ? [measureSwitch(t, st.measure, (m) => app.href(location.pathname, { measure: m })),
      heatMap(ctx, [...(pr.sites ?? []).map((x, i) => ({ row: x, path: `sites.${i}`, name: x.site_name })),
        { row: pr.total ?? {}, path: 'total', name: t.total }], st.measure,
      { link: (id) => app.href(`/sites/${id}`, { measure: null }) })] : app.failure(r.progress)));
  out.push(section('coverage', t.coverageBySite, exp('coverage'), t,
    r.coverage.ok ? coverageSites({ t, lang, view: 'coverage', rules: {} }, r.coverage.body) : app.failure(r.coverage)));
  out.push(section('calibration', t.calibration, exp('calibration'), t,
    r.calibration.ok ? calibrationBlock({ t, lang, view: 'calibration', rules: {} }, r.calibration.body, titleOf) : app.failure(r.calibration)));
  out.push(section('goals', t.goals, exp('goals'), t,
    r.goals.ok ? goalsTable({ t, lang, view: 'goals', rules: {} }, r.goals.body, (id) => names.get(id) ?? id) : app.failure(r.goals)));
  return out;
}

function coverageSites(ctx, body) {
  const { t } = ctx;
  const row = (s, p, name) => (s.no_teachers ? [rowHead(name), noTeachers(ctx, p, 7)] : [rowHead(name),
    num(ctx, s.classrooms, `${p}.classrooms`, 'count'), num(ctx, s.observed_classrooms, `${p}.observed_classrooms`, 'count'),
    cell(ctx, s.coverage, `${p}.coverage`, 'pct'), cell(ctx, s.coverage_change, `${p}.coverage_change`, 'pct', { signed: true }),
    num(ctx, s.observations, `${p}.observations`, 'count'), cell(ctx, s.observations_per_classroom, `${p}.observations_per_classroom`, 'rate'),
    cell(ctx, s.observations_per_classroom_change, `${p}.observations_per_classroom_change`, 'rate', { signed: true })]);
  return [h('p', {}, t.asOf(body.as_of)),
    table(null, [t.site, t.classrooms, t.observed, t.coverage, t.change, t.observations, t.perClassroom, t.change],
      [...(body.sites ?? []).map((s, i) => row(s, `sites.${i}`, s.site_name)), row(body.total ?? {}, 'total', t.total)])];
}

export function networkCalls(st, lang) {
  return { network: `/v1/network/progress?${st.periodOnly}&language=${lang}` };
}

export function networkPage(app, r) {
  const { t, lang, st } = app;
  const nw = r.network.body ?? {};
  const out = [h('h1', {}, t.networkPage)];
  out.push(...app.periodLines(nw.period, nw.previous, false));
  out.push(h('p', { class: 'legend' }, h('span', { class: 'suppressed swatch', 'aria-hidden': 'true' }), ' ', t.suppressedLegend));
  const ctx = { t, lang, view: 'network', rules: nw.suppression ?? {} };
  out.push(section('heatmap', t.networkHeat, `/v1/network/progress:export?${st.periodOnly}`, t,
    r.network.ok ? [measureSwitch(t, st.measure, (m) => app.href(location.pathname, { measure: m })),
      heatMap(ctx, [...(nw.districts ?? []).map((x, i) => ({ row: x, path: `districts.${i}`, name: x.district_name })),
        { row: nw.total ?? {}, path: 'total', name: t.network }], st.measure, { rowLabel: t.district, caption: t.networkHeat }),
      h('ul', { class: 'note' }, (nw.districts ?? []).filter((x) => x.period?.first_day).map((x) => h('li', {}, t.districtPeriod(x.district_name, x.period))))]
      : app.failure(r.network)));
  return out;
}
