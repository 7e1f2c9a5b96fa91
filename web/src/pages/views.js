// Renderers shared by the site and district pages: goals, calibration, the heat map. Each takes
// a render context { t, lang, view, rules } (see dom.js cell) and the API's answer as sent.
import { h, cell, num, table, rowHead, fmt } from './dom.js';
import { heat, progressBar } from './charts.js';

// goalsTable lists goals with progress toward the target.
export function goalsTable(ctx, body, siteName) {
  const { t } = ctx;
  const goals = body.goals ?? [];
  if (!goals.length) return h('p', {}, t.noGoals);
  return table(null, [t.goal, t.site, t.dimension, t.measure, t.target, t.targetDate, t.baseline, t.currentValue, t.progress, t.status],
    goals.map((g, i) => {
      const p = `goals.${i}`;
      const kind = g.goal.measure === 'GOAL_MEASURE_SHARE_PROFICIENT' ? 'pct' : 'mean';
      const prog = cell(ctx, g.progress, `${p}.progress`, 'pct');
      if (prog.dataset.state === 'value') prog.prepend(progressBar(g.progress.value), ' ');
      return [
        rowHead(g.goal.title || g.goal.dimension),
        h('td', {}, g.goal.site_id ? siteName(g.goal.site_id) : t.districtWide),
        h('td', {}, g.goal.dimension),
        h('td', {}, t.measures[g.goal.measure] ?? g.goal.measure),
        num(ctx, g.goal.target, `${p}.goal.target`, kind),
        h('td', {}, g.goal.target_date),
        cell(ctx, g.baseline_value, `${p}.baseline_value`, kind, { n: true }),
        cell(ctx, g.current, `${p}.current`, kind, { n: true }),
        prog,
        h('td', { class: `status status-${g.status}` }, t.goalStatus[g.status] ?? g.status),
      ];
    }));
}

// agreementCells are the columns of one Agreement: pairs, exact, adjacent, kappa, band, target.
export function agreementCells(ctx, a, p) {
  const { t } = ctx;
  return [
    num(ctx, a.pairs, `${p}.pairs`, 'count'),
    cell(ctx, a.exact, `${p}.exact`, 'pct'),
    cell(ctx, a.adjacent, `${p}.adjacent`, 'pct'),
    cell(ctx, a.kappa, `${p}.kappa`, 'ratio'),
    h('td', { class: `band band-${a.band || 'none'}`, 'data-view': ctx.view, 'data-path': `${p}.band`, 'data-text': a.band }, t.bands[a.band] ?? a.band),
    h('td', { class: a.meets_target ? 'meets' : 'misses' }, a.pairs ? (a.meets_target ? '✓ ' + t.yes : '✗ ' + t.no) : '—'),
  ];
}

const agreementHead = (t) => [t.pairs, t.exact, t.adjacent, t.kappa, t.band, t.meets];

// calibrationBlock shows overall agreement, per dimension and per observer, with the targets.
export function calibrationBlock(ctx, body, titles) {
  const { t } = ctx;
  const o = body.overall ?? {};
  const out = [h('p', {}, t.targets(fmt(ctx.lang, 'rate', o.kappa_target ?? 0.6), fmt(ctx.lang, 'pct', o.adjacent_target ?? 0.85)),
    ' ', t.lessons + ': ', h('span', { 'data-view': ctx.view, 'data-path': 'lessons', 'data-fmt': 'count', 'data-state': 'value', 'data-value': body.lessons }, String(body.lessons)))];
  if (!body.lessons) out.push(h('p', {}, t.noObservers));
  out.push(table(t.calibrationByDimension, [t.dimension, ...agreementHead(t)], [
    h('tr', {}, rowHead(t.total), ...agreementCells(ctx, o, 'overall')),
    ...(body.dimensions ?? []).map((d, i) => h('tr', {}, rowHead(titles(d.series)), ...agreementCells(ctx, d.agreement, `dimensions.${i}.agreement`))),
  ]));
  if (!(body.observers ?? []).length) out.push(h('h3', {}, t.calibrationByObserver), h('p', {}, t.none));
  else out.push(table(t.calibrationByObserver, [t.observer, t.lessons, ...agreementHead(t)],
    (body.observers ?? []).map((ob, i) => h('tr', {}, rowHead(ob.observer_id), num(ctx, ob.lessons, `observers.${i}.lessons`, 'count'),
      ...agreementCells(ctx, ob.overall, `observers.${i}.overall`)))));
  return out;
}

// heatMap draws rows (sites or districts, and the total) × dimension series as a table whose
// cells are coloured by mean level (1..4) or share proficient (0..1) and carry the number.
export function heatMap(ctx, rows, measure, { min = 1, max = 4, link, rowLabel, caption } = {}) {
  const { t } = ctx;
  const series = rows.find((r) => r.row.dimensions?.length)?.row.dimensions.map((d) => d.series) ?? [];
  const field = measure === 'share' ? 'share_proficient' : 'mean_level';
  const kind = measure === 'share' ? 'pct' : 'mean';
  const scale = (v) => heat(measure === 'share' ? v : (v - min) / (max - min));
  return table(`${caption ?? t.heatmap}: ${measure === 'share' ? t.shareProficient : t.meanLevel}`,
    [rowLabel ?? t.site, t.observations, ...series.map((s) => h('th', { scope: 'col' }, titleOf(s)))],
    rows.map(({ row, path, name }) => {
      const head = rowHead(link && row.site_id ? h('a', { href: link(row.site_id) }, name) : name);
      // A site with no teacher on its roster has nothing to measure: it says so, once, across the
      // row (never "no observations", never a 0).
      if (row.no_teachers) return h('tr', {}, head, noTeachers(ctx, path, 1 + series.length));
      return h('tr', {}, head, cell(ctx, row.observations, `${path}.observations`, 'count'),
        ...series.map((s) => {
          const i = (row.dimensions ?? []).findIndex((d) => d.series.dimension === s.dimension && d.series.since_version === s.since_version);
          if (i < 0) return h('td', { class: 'nodata' }, t.noData);
          const d = row.dimensions[i];
          if (d.suppressed) return cell(ctx, d, `${path}.dimensions.${i}`, kind);
          return cell(ctx, d[field], `${path}.dimensions.${i}.${field}`, kind, { n: true, class: 'heat', style: scale });
        }));
    }), { class: 'heatmap' });
}

// titleOf is a dimension series' title in whatever language the API sent.
export function titleOf(s) {
  const v = Object.values(s?.title ?? {});
  return v[0] ?? s?.dimension ?? '';
}

// measureSwitch offers mean level / share proficient as links (aria-current on the chosen one).
export function measureSwitch(t, measure, href) {
  return h('p', { class: 'switch' }, t.heatShow + ': ',
    h('a', { href: href('mean'), 'aria-current': measure !== 'share' ? 'true' : null }, t.meanLevel), ' · ',
    h('a', { href: href('share'), 'aria-current': measure === 'share' ? 'true' : null }, t.shareProficient));
}

// noTeachers is the one cell of a row whose site has no teacher on its roster (the API's
// no_teachers), spanning the row's figure columns.
export function noTeachers(ctx, path, span) {
  return h('td', { colspan: span, class: 'noteachers', 'data-view': ctx.view, 'data-path': `${path}.no_teachers`, 'data-state': 'no-teachers' }, ctx.t.noTeachers);
}
