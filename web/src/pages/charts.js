// Charts: uPlot for the trend small multiples, plain HTML for stacked level bars and progress
// bars. A chart is decoration over a table that carries the same figures (the accessible
// equivalent, and what the browser tests read): canvases are aria-hidden.
import uPlot from 'uplot';
import { h, fmt } from './dom.js';

// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
export const palette = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9'];

// trendChart draws one dimension's series (one line per comparable series; a new rubric version
// that breaks comparability is a separate line, so the break shows) with n under each point.
export function trendChart(lang, labels, series, { min = 1, max = 4 } = {}) {
  const xs = labels.map((_, i) => i);
  const ys = series.map((s) => s.points.map((p) => (p.mean_level && !p.mean_level.suppressed && !p.mean_level.no_data ? p.mean_level.value ?? null : null)));
  // data-lines says which line (series) has a point at which period, for the browser tests.
  const box = h('div', { class: 'chart', 'aria-hidden': 'true',
    'data-lines': JSON.stringify(series.map((s, k) => ({ since: s.series?.since_version, at: ys[k].flatMap((v, i) => (v === null ? [] : [i])) }))) });
  const ns = series.map((s) => s.points.map((p) => (p.suppressed ? null : p.n ?? null)));
  const opts = {
    width: 280, height: 170, legend: { show: false }, cursor: { show: false }, select: { show: false },
    scales: { x: { time: false, range: [-0.5, labels.length - 0.5] }, y: { range: [min, max] } },
    axes: [
      { values: (_, ticks) => ticks.map((i) => (Number.isInteger(i) ? shortLabel(labels[i]) : '')), splits: () => xs, size: 34, font: '11px system-ui', stroke: '#333', grid: { show: false } },
      { splits: () => range(min, max), size: 28, font: '11px system-ui', stroke: '#333', grid: { stroke: '#ddd', width: 1 } },
    ],
    series: [{}, ...series.map((_, i) => ({ stroke: palette[i % palette.length], width: 2, spanGaps: false, points: { size: 7, fill: palette[i % palette.length] } }))],
    hooks: {
      draw: [(u) => {
        const ctx = u.ctx;
        ctx.save();
        ctx.font = `${10 * devicePixelRatio}px system-ui`;
        ctx.fillStyle = '#333';
        ctx.textAlign = 'center';
        ns.forEach((row, si) => row.forEach((n, i) => {
          if (n === null || ys[si][i] === null) return;
          const x = u.valToPos(i, 'x', true), y = u.valToPos(ys[si][i], 'y', true);
          ctx.fillText(`n=${n}`, x, y + 16 * devicePixelRatio);
        }));
        ctx.restore();
      }],
    },
  };
  // uPlot measures its container; draw once it is in the document.
  requestAnimationFrame(() => new uPlot(opts, [xs, ...ys], box));
  return box;
}

function range(a, b) { const out = []; for (let i = a; i <= b; i++) out.push(i); return out; }
function shortLabel(k) { return (k ?? '').replace(/^\d{4}-\d{2}\//, '').replace(/^20(\d\d)-/, '$1-'); }

// stackedBar draws a level distribution (counts per level) as one horizontal bar with a text
// label in each segment; suppressed or empty levels take no width.
export function stackedBar(lang, levels) {
  const total = levels.reduce((a, l) => a + (valueOf(l.observations) ?? 0), 0);
  const bar = h('div', { class: 'stack', 'aria-hidden': 'true' });
  if (!total) return bar;
  levels.forEach((l, i) => {
    const v = valueOf(l.observations);
    if (!v) return;
    bar.append(h('span', { class: `seg seg-${i % 4}`, style: { width: `${(100 * v) / total}%` }, title: `${l.level}: ${v}` }, String(l.level)));
  });
  return bar;
}

function valueOf(c) { return c && !c.suppressed && !c.no_data ? c.value ?? null : null; }

// progressBar shows a 0..1 figure as a bar beside its text.
export function progressBar(v) {
  return h('span', { class: 'pbar', 'aria-hidden': 'true' }, h('span', { style: { width: `${Math.max(0, Math.min(1, v)) * 100}%` } }));
}

// heat is the background and text colour of a heat-map cell for t in 0..1 (a sequential blue
// scale, light to dark, with black or white text, whichever has AA contrast).
export function heat(t) {
  const stops = [[239, 243, 255], [198, 219, 239], [107, 174, 214], [33, 113, 181], [8, 48, 107]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x)), f = x - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f));
  const lum = c.map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
  const L = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
  return { background: `rgb(${c.join(',')})`, color: L < 0.18 ? '#fff' : '#000' };
}

export { fmt };
