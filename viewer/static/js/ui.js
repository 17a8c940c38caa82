// ui.js: small shared pieces of the interface: elements, a confirmation dialog, toasts.

/** h makes an element: h('button', {class: 'primary', onclick: fn}, 'Save'). Attributes starting with "on" become listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/**
 * confirmDialog asks a yes/no question in a modal <dialog> and resolves to true when confirmed.
 * Escape or Cancel resolves to false. opts: confirmLabel, danger (a red confirm button).
 */
export function confirmDialog(message, opts = {}) {
  return new Promise((resolve) => {
    const cancel = h('button', { type: 'button', class: 'button' }, 'Cancel');
    const ok = h('button', { type: 'submit', class: opts.danger ? 'button danger' : 'button primary', 'data-confirm': '' }, opts.confirmLabel || 'OK');
    const dialog = h('dialog', { class: 'confirm' }, h('form', { method: 'dialog' }, h('p', {}, message), h('div', { class: 'actions' }, cancel, ok)));
    let answer = false;
    cancel.addEventListener('click', () => dialog.close());
    ok.addEventListener('click', () => {
      answer = true;
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    ok.focus();
  });
}

/** toast shows a short message in the corner; kind is 'info', 'success' or 'error'. */
export function toast(message, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const el = h('div', { class: 'toast ' + kind }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/** notice is a calm state box in place of content: kind 'empty', 'error' or 'info'. */
export function notice(kind, ...children) {
  return h('div', { class: 'notice ' + kind, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** isTyping reports whether a key event goes to a field, where letters are text, not shortcuts. */
export function isTyping(e) {
  const t = e.target;
  return t instanceof Element && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
}
