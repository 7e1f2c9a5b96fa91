// Small DOM helpers and the one place that turns an API figure into page text. Every figure on a
// page is an element with data-view (which API call), data-path (where in its JSON answer),
// data-fmt and, for a value, data-value (the API's number as sent): the browser tests read the
// page through these and compare with the same REST call. The page never recomputes a figure.

// h builds an element: h('td', { class: 'x', 'data-path': 'a.b' }, 'text', child, ...).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// fmt formats a number as the page shows it: mean (2 decimals), pct (a 0..1 share as a percentage
// with 1 decimal), ratio (3 decimals), rate (2 decimals), count (integer). signed adds "+".
export function fmt(lang, kind, v, signed = false) {
  const o = { mean: [2, 2], ratio: [3, 3], rate: [2, 2], count: [0, 0], pct: [1, 1] }[kind] ?? [2, 2];
  const nf = new Intl.NumberFormat(lang, {
    style: kind === 'pct' ? 'percent' : 'decimal', minimumFractionDigits: o[0], maximumFractionDigits: o[1],
    signDisplay: signed ? 'exceptZero' : 'auto',
  });
  return nf.format(v);
}

// reasonText says why a cell is withheld, in the page's language, with the view's thresholds.
export function reasonText(t, reason, rules = {}) {
  const f = t.reasons[reason];
  return f ? f(rules) : reason;
}

// cell renders one ProgressCell as a table cell (tag 'td' by default): its value, or "Withheld:
// <why>" hatched, or "no observations". ctx = { t, lang, view, rules }; opts.n shows "n = …".
export function cell(ctx, c, path, kind, opts = {}) {
  const { t, lang, view, rules } = ctx;
  const tag = opts.tag ?? 'td';
  const base = { 'data-view': view, 'data-path': path, 'data-fmt': kind, class: opts.class };
  if (!c || c.suppressed) {
    const why = reasonText(t, c?.reason ?? '', rules);
    return h(tag, { ...base, 'data-state': 'suppressed', 'data-reason': c?.reason ?? '', class: cls(opts.class, 'suppressed') },
      h('span', { class: 'tag' }, t.withheld + ': ' + why));
  }
  if (c.no_data || c.value === undefined || c.value === null) {
    return h(tag, { ...base, 'data-state': 'no-data', class: cls(opts.class, 'nodata') }, t.noData);
  }
  const el = h(tag, { ...base, 'data-state': 'value', 'data-value': c.value }, fmt(lang, kind, c.value, opts.signed));
  if (opts.n && c.n !== undefined && c.n !== null) el.append(h('small', { class: 'n', 'data-n': c.n }, ` n = ${c.n}`));
  if (opts.style) Object.assign(el.style, opts.style(c.value));
  return el;
}

// num renders a plain number the API sent (a count, a change that is a plain double) with the
// same data attributes; null/undefined renders as "—" with data-state="absent".
export function num(ctx, v, path, kind, opts = {}) {
  const tag = opts.tag ?? 'td';
  const base = { 'data-view': ctx.view, 'data-path': path, 'data-fmt': kind, class: opts.class };
  if (v === undefined || v === null) return h(tag, { ...base, 'data-state': 'absent' }, '—');
  return h(tag, { ...base, 'data-state': 'value', 'data-value': v }, fmt(ctx.lang, kind, v, opts.signed));
}

function cls(a, b) { return a ? `${a} ${b}` : b; }

// table builds a table with a caption, a header row and body rows (arrays of cells).
export function table(caption, head, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, head.map((x) => (x instanceof Node ? x : h('th', { scope: 'col' }, x))))),
      h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r))))));
}

// rowHead is a row's header cell.
export function rowHead(...children) { return h('th', { scope: 'row' }, ...children); }

// section is a titled region of a page with its CSV download link.
export function section(id, title, csvHref, t, ...children) {
  return h('section', { id, 'aria-labelledby': id + '-h' },
    h('div', { class: 'section-head' },
      h('h2', { id: id + '-h' }, title),
      csvHref ? h('a', { class: 'csv', href: csvHref, download: '' }, t.csv, h('span', { class: 'visually-hidden' }, ': ' + title)) : null),
    ...children);
}
