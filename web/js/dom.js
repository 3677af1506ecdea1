// Element building without innerHTML: everything from the API (messages, names, notes)
// lands in the page as text, never as markup.

/**
 * h('button', {class: 'primary', onclick: fn, 'aria-pressed': 'true'}, 'text', child, [more])
 * Attributes: `class`, `text`, `on<event>` handlers, boolean properties (hidden, disabled,
 * checked, selected, required, open) and everything else as an attribute; null/false skip.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (['hidden', 'disabled', 'checked', 'selected', 'required', 'open', 'multiple'].includes(k)) el[k] = Boolean(v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  clear(el);
  return append(el, children);
}

let idSeq = 0;
export const uid = (prefix = 'id') => `${prefix}-${++idSeq}`;

/** A <label> + control pair; the control gets an id and aria-describedby for a hint. */
export function field(labelText, control, hint) {
  control.id ||= uid('f');
  const parts = [h('label', { for: control.id }, labelText), control];
  if (hint) {
    const hintEl = h('p', { class: 'hint', id: uid('hint') }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
    parts.push(hintEl);
  }
  return h('div', { class: 'field' }, parts);
}

/** <select> from [[value, label], ...]. */
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([value, text]) => h('option', { value, selected: value === selected }, text)));
}

/**
 * Screen-reader announcements of live changes. Re-setting the text of a live region is
 * what assistive technology reliably reads; the same text twice in a row gets a
 * zero-width space so it is announced again.
 */
export function announce(text, urgent = false) {
  const region = document.getElementById(urgent ? 'announcer-urgent' : 'announcer');
  if (!region) return;
  const next = region.textContent === text ? `${text}\u200b` : text;
  region.textContent = next;
}
