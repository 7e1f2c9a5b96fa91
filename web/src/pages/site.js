// The site page (principals; coaches for their assigned sites): trends per dimension, this
// period's levels and change, coverage by classroom, talk moves and equity, the caller's own
// calibration, goals. One round of parallel API calls; every figure is the API's.
import { h, cell, num, table, rowHead, section } from './dom.js';
import { trendChart, stackedBar } from './charts.js';
import { goalsTable, calibrationBlock, titleOf } from './views.js';

// calls are the API calls of the site page's first render, all made at once.
export function siteCalls(s, d, site, st, lang) {
  const q = st.query.toString();
  const v = `/v1/districts/${enc(d)}`;
  const calls = {
    trends: `${v}/sites/${enc(site)}/progress:trends?${q}&periods=${st.periods}&language=${lang}`,
    coverage: `${v}/progress:coverage?site_id=${enc(site)}&${q}`,
    talk: `${v}/progress:talk?site_id=${enc(site)}&${q}`,
    calibration: `${v}/progress:calibration?site_id=${enc(site)}&${q}&language=${lang}`,
    goals: `${v}/goals`,
    rubric: `/v1/rubrics/k8-academic-discourse/versions/latest?language=${lang}`,
    settings: `${v}/settings`,
  };
  // A coach with several sites picks one: coverage over their scope names them.
  if ((s.site_ids ?? []).length > 1) calls.scope = `${v}/progress:coverage?${q}`;
  return calls;
}

const enc = encodeURIComponent;

export function sitePage(app, r) {
  const { t, lang, st, site, district } = app;
  const exp = (view, extra = '') => `/v1/districts/${enc(district)}/progress:export?view=${view}&site_id=${enc(site)}&${st.query}${extra}`;
  const ok = (k) => r[k]?.ok;
  const tr = r.trends.body ?? {};
  const out = [];
  out.push(h('h1', {}, tr.site_name || site, h('span', { class: 'subtitle' }, ' · ' + t.sitePage)));
  out.push(...app.periodLines(tr.periods?.[tr.periods.length - 1], tr.previous ?? r.coverage.body?.previous));
  if (r.scope?.ok) {
    const sites = r.scope.body.sites ?? [];
    out.push(h('nav', { 'aria-label': t.chooseSite, class: 'sites' }, t.chooseSite + ': ',
      sites.map((x, i) => [i ? ' · ' : '', h('a', { href: app.href(`/sites/${x.site_id}`), 'aria-current': x.site_id === site ? 'page' : null }, x.site_name)])));
  }
  out.push(h('p', { class: 'legend' }, h('span', { class: 'suppressed swatch', 'aria-hidden': 'true' }), ' ', t.suppressedLegend));

  const rules = tr.suppression ?? {};
  // Trends: small multiples, one per dimension (series of one dimension share a chart).
  out.push(section('trends', t.trends, exp('site_trends', `&periods=${st.periods}`), t,
    ok('trends') ? trends(app, tr, { t, lang, view: 'trends', rules }) : app.failure(r.trends)));
  out.push(section('levels', `${t.thisPeriod}: ${t.levels}, ${t.change.toLowerCase()}`, exp('site_trends', `&periods=${st.periods}`), t,
    ok('trends') ? levels(app, tr, { t, lang, view: 'trends', rules }) : app.failure(r.trends)));
  out.push(section('coverage', t.coverage, exp('coverage'), t,
    ok('coverage') ? coverage(app, r.coverage.body, { t, lang, view: 'coverage', rules: {} }) : app.failure(r.coverage)));
  out.push(section('talk', t.talk, exp('talk_equity'), t,
    ok('talk') ? talk(app, r.talk.body, r.rubric?.body, { t, lang, view: 'talk', rules: r.talk.body.suppression ?? {} }) : app.failure(r.talk)));
  out.push(section('calibration', t.ownCalibration, exp('calibration'), t,
    ok('calibration') ? calibrationBlock({ t, lang, view: 'calibration', rules: {} }, r.calibration.body, titleOf) : app.failure(r.calibration)));
  out.push(section('goals', t.goals, `/v1/districts/${enc(district)}/progress:export?view=goals`, t,
    ok('goals') ? goalsTable({ t, lang, view: 'goals', rules: {} }, r.goals.body, () => tr.site_name || site) : app.failure(r.goals)));
  return out;
}

function trends(app, tr, ctx) {
  const { t, lang } = ctx;
  const labels = (tr.periods ?? []).map((p) => p.key + (p.partial ? '*' : ''));
  const byDim = new Map();
  (tr.dimensions ?? []).forEach((d, i) => {
    const k = d.series.dimension;
    if (!byDim.has(k)) byDim.set(k, []);
    byDim.get(k).push({ ...d, index: i });
  });
  if (!(tr.dimensions ?? []).length) return h('p', { class: 'nodata' }, t.noData);
  const grid = h('div', { class: 'multiples' });
  for (const series of byDim.values()) {
    const fig = h('figure', { class: 'multiple' }, h('figcaption', {}, titleOf(series[0].series)));
    fig.append(trendChart(lang, labels, series));
    for (const s of series) {
      const p = `dimensions.${s.index}`;
      fig.append(table(series.length > 1 ? t.since(s.series.since_version) : null, [t.period, t.meanLevel, t.shareProficient],
        s.points.map((pt, j) => {
          const head = rowHead(labels[j]);
          if (pt.suppressed) return [head, cell(ctx, pt, `${p}.points.${j}`, 'mean'), h('td', {}, '')];
          return [head, cell(ctx, pt.mean_level, `${p}.points.${j}.mean_level`, 'mean', { n: true }),
            cell(ctx, pt.share_proficient, `${p}.points.${j}.share_proficient`, 'pct')];
        }), { class: 'compact' }));
    }
    grid.append(fig);
  }
  return [h('p', { class: 'note' }, t.trendsNote), grid];
}

function levels(app, tr, ctx) {
  const { t } = ctx;
  const last = (tr.periods ?? []).length - 1;
  if (!(tr.dimensions ?? []).length) return h('p', { class: 'nodata' }, t.noData);
  const levelsOf = (tr.dimensions ?? []).find((d) => d.points[last]?.levels?.length)?.points[last].levels ?? [];
  const head = [t.dimension, t.n, t.teachers, t.notObserved, t.meanLevel, t.change, t.shareProficient, t.change,
    ...levelsOf.map((l) => `${t.level} ${l.level}`), t.levels];
  const rows = (tr.dimensions ?? []).map((d, i) => {
    const pt = d.points[last];
    const p = `dimensions.${i}.points.${last}`;
    const name = rowHead(titleOf(d.series), (tr.dimensions.filter((x) => x.series.dimension === d.series.dimension).length > 1) ? h('small', {}, ` (${t.since(d.series.since_version)})`) : null);
    if (!pt || pt.suppressed) return [name, cell(ctx, pt, p, 'count', { class: 'wide' })];
    const status = pt.change?.status ?? '';
    const changeCell = (f, kind) => (status === 'PERIOD_CHANGE_STATUS_COMPARED'
      ? num(ctx, pt.change[f], `${p}.change.${f}`, kind, { signed: true })
      : h('td', { class: 'nochange', 'data-view': ctx.view, 'data-path': `${p}.change.status`, 'data-text': status }, t.changeStatus[status] ?? status));
    return [name, num(ctx, pt.n, `${p}.n`, 'count'), num(ctx, pt.teachers, `${p}.teachers`, 'count'), num(ctx, pt.not_observed, `${p}.not_observed`, 'count'),
      cell(ctx, pt.mean_level, `${p}.mean_level`, 'mean'), changeCell('mean_level', 'mean'),
      cell(ctx, pt.share_proficient, `${p}.share_proficient`, 'pct'), changeCell('share_proficient', 'pct'),
      ...(pt.levels ?? []).map((l, k) => cell(ctx, l.observations, `${p}.levels.${k}.observations`, 'count')),
      h('td', { class: 'bar-cell' }, stackedBar(ctx.lang, pt.levels ?? []))];
  });
  return table(null, head, rows, { class: 'levels' });
}

function coverage(app, body, ctx) {
  const { t } = ctx;
  const i = (body.sites ?? []).findIndex((s) => s.site_id === app.site);
  const out = [h('p', {}, t.asOf(body.as_of))];
  if (i >= 0) {
    const s = body.sites[i], p = `sites.${i}`;
    out.push(table(null, [t.classrooms, t.observed, t.coverage, t.change, t.observations, t.perClassroom, t.change], [[
      num(ctx, s.classrooms, `${p}.classrooms`, 'count'), num(ctx, s.observed_classrooms, `${p}.observed_classrooms`, 'count'),
      cell(ctx, s.coverage, `${p}.coverage`, 'pct'), cell(ctx, s.coverage_change, `${p}.coverage_change`, 'pct', { signed: true }),
      num(ctx, s.observations, `${p}.observations`, 'count'), cell(ctx, s.observations_per_classroom, `${p}.observations_per_classroom`, 'rate'),
      cell(ctx, s.observations_per_classroom_change, `${p}.observations_per_classroom_change`, 'rate', { signed: true })]]));
  }
  // Teacher-level rows only where the API gives them: never visited first, then longest ago.
  const rooms = (body.classrooms ?? []).map((c, k) => ({ c, k })).filter(({ c }) => c.site_id === app.site);
  rooms.sort((a, b) => (b.c.days_since_last_visit ?? Infinity) - (a.c.days_since_last_visit ?? Infinity) || a.c.classroom_id.localeCompare(b.c.classroom_id));
  if (rooms.length) {
    out.push(table(t.classrooms, [t.classroom, t.teacher, t.observations, t.lastVisit, t.daysSince], rooms.map(({ c, k }) => [
      rowHead(c.classroom_id), h('td', {}, c.teacher_id), num(ctx, c.observations, `classrooms.${k}.observations`, 'count'),
      h('td', {}, c.last_visit || t.never),
      c.days_since_last_visit === undefined || c.days_since_last_visit === null
        ? h('td', { class: 'never', 'data-view': ctx.view, 'data-path': `classrooms.${k}.days_since_last_visit`, 'data-state': 'absent' }, t.never)
        : num(ctx, c.days_since_last_visit, `classrooms.${k}.days_since_last_visit`, 'count')])));
  }
  return out;
}

function talk(app, body, rubric, ctx) {
  const { t } = ctx;
  const cats = new Map((rubric?.version?.content?.tally_categories ?? []).map((c) => [c.key, Object.values(c.title ?? {})[0] ?? c.key]));
  const i = (body.sites ?? []).findIndex((s) => s.site_id === app.site);
  const out = [];
  if (i >= 0) {
    const s = body.sites[i], p = `sites.${i}`;
    if (s.suppressed) out.push(table(null, [t.talk], [[cell(ctx, s, p, 'rate')]]));
    else {
      out.push(table(t.ratePer10, [t.category, t.speaker, t.ratePer10, t.change], (s.rates ?? []).map((x, k) => [
        rowHead(cats.get(x.category) ?? x.category), h('td', {}, t.speakers[x.speaker] ?? x.speaker),
        cell(ctx, x.rate, `${p}.rates.${k}.rate`, 'rate', { n: true }), cell(ctx, x.change, `${p}.rates.${k}.change`, 'rate', { signed: true })])));
      out.push(table(null, ['', t.thisPeriod, t.change], [
        [rowHead(t.pressShare), cell(ctx, s.press_share, `${p}.press_share`, 'pct', { n: true }), cell(ctx, s.press_share_change, `${p}.press_share_change`, 'pct', { signed: true })],
        [rowHead(t.reasoningShare), cell(ctx, s.reasoning_share, `${p}.reasoning_share`, 'pct', { n: true }), cell(ctx, s.reasoning_share_change, `${p}.reasoning_share_change`, 'pct', { signed: true })],
      ]));
    }
  }
  out.push(h('h3', {}, t.equity), h('p', {}, t.equityObs(body.equity_observations ?? 0)));
  out.push(table(null, [t.group, t.equityRatio, t.change], (body.equity ?? []).map((g, k) => [
    rowHead(g.label || g.group), cell(ctx, g.ratio, `equity.${k}.ratio`, 'rate', { n: true }), cell(ctx, g.change, `equity.${k}.change`, 'rate', { signed: true })])));
  return out;
}
