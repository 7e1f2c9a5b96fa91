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

// patch makes parent's children look like nodes while leaving in place every element that is
// already there with the same tag and attributes, changing only what differs below it. A tap is a
// finger down and a finger up on the same element: if a redraw takes that element out of the page
// in between (even to put an identical one back), the browser sends no click and the tap is lost.
// The list and the status bar are redrawn after every sync, while the coach is using them. A kept
// element keeps its old event listeners, so use patch only for views whose listeners do not
// depend on the drawing (the list's and the status bar's do not).
export function patch(parent, nodes) {
  const old = [...parent.childNodes];
  if (old.length !== nodes.length) {
    parent.replaceChildren(...nodes);
    return;
  }
  nodes.forEach((n, i) => {
    const o = old[i];
    if (o.isEqualNode(n)) return;
    if (o.nodeType === Node.ELEMENT_NODE && n.nodeType === Node.ELEMENT_NODE && o.tagName === n.tagName && sameAttributes(o, n)) patch(o, [...n.childNodes]);
    else o.replaceWith(n);
  });
}

function sameAttributes(a, b) {
  return a.attributes.length === b.attributes.length && [...a.attributes].every((x) => b.getAttribute(x.name) === x.value);
}
