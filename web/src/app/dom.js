// h builds an element: h('button', {class: 'big', onclick: f}, 'Text', child…). Attributes
// whose value is null or false are left out; value, checked and disabled are set as properties.
const PROPS = new Set(['value', 'checked', 'disabled', 'open']);

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

// announce puts a message in the page's live region (screen readers read it).
export function announce(msg, kind = 'info') {
  const el = document.getElementById('message');
  el.textContent = msg;
  el.dataset.kind = kind;
}
