// main.js: the application shell: who is signed in, the top bar, and one page at a time, chosen
// by the hash route. Pages are modules with a show function that fills a root element and returns
// a dispose function; the study view (study.js, the image code) is imported only when opened.
import * as api from './api.js';
import { h, isTyping, notice } from './ui.js';
import { parseHash, signInHash, nextHash } from './router.js';
import { showStudyList } from './studylist.js';
import { showSignIn } from './signin.js';
import { showUsers } from './users.js';
import { showUpload, droppedFiles } from './upload.js';

const SHORTCUTS = [
  ['/', 'Search studies'],
  ['↑ ↓', 'Move through the list'],
  ['Enter', 'Open the selected study'],
  ['?', 'Show this list'],
  ['Esc', 'Close a dialog'],
];

const AUTH_NONE_KEY = 'medimg.authNone';

const state = { me: null, route: null, dispose: null, seq: 0 };
const view = h('main', { id: 'view', tabindex: '-1' });
const bar = h('header', { class: 'topbar' });

function navigate(hash) {
  if (location.hash !== hash) location.hash = hash;
  else render();
}

/** setParams replaces the query of the current route without a new history entry. */
function setParams(params) {
  const [path] = location.hash.split('?');
  const q = new URLSearchParams(params).toString();
  history.replaceState(history.state, '', path + (q ? '?' + q : ''));
  state.route = parseHash(location.hash);
}

function drawBar() {
  const me = state.me;
  const current = state.route ? state.route.name : '';
  const link = (name, label) => h('a', { href: '#/' + name, 'aria-current': current === name || (name === 'studies' && current === 'study') ? 'page' : null }, label);
  const nav = me && h('nav', { 'aria-label': 'Main' }, link('studies', 'Studies'), link('upload', 'Upload'), me.role === 'admin' && link('users', 'Users'));
  const who = me && h('span', { class: 'who' }, me.username, ' ', h('span', { class: 'role' }, me.role));
  const signOut = me && me.auth !== 'none' && h('button', { type: 'button', class: 'button quiet', onclick: onSignOut }, 'Sign out');
  bar.replaceChildren(h('a', { class: 'brand', href: '#/studies' }, 'medimg'), nav || '', h('span', { class: 'spacer' }), who || '', signOut || '');
}

async function onSignOut() {
  await api.signOut();
  state.me = null;
  navigate('#/signin');
}

async function showStudyView(root, ctx) {
  try {
    const { showStudy } = await import('./study.js');
    return await showStudy(root, ctx);
  } catch (err) {
    root.replaceChildren(notice('error', 'The study view could not be opened: ' + err.message));
    return null;
  }
}

const PAGES = { studies: showStudyList, study: showStudyView, users: showUsers, upload: showUpload, signin: showSignIn };

/** render shows the page of the current hash, after disposing of the previous one. */
async function render() {
  const seq = ++state.seq;
  const start = performance.now();
  if (state.dispose) state.dispose();
  state.dispose = null;
  const route = parseHash(location.hash);
  state.route = route;
  if (!state.me && route.name !== 'signin') {
    location.replace(signInHash(location.hash || '#/studies'));
    return;
  }
  if (state.me && route.name === 'signin') {
    location.replace(nextHash(route.params)); // signed in meanwhile (e.g. another tab's token, a reload)
    return;
  }
  drawBar();
  const root = h('div', { class: 'page page-' + route.name });
  view.replaceChildren(root);
  const ctx = { studyUID: route.uid, params: route.params, me: state.me, navigate, setParams, start, signedIn };
  const dispose = await PAGES[route.name](root, ctx);
  if (seq !== state.seq) {
    if (typeof dispose === 'function') dispose(); // the person moved on meanwhile
    return;
  }
  state.dispose = typeof dispose === 'function' ? dispose : null;
}

/**
 * whoAmI asks the server who is signed in. A signed-out tab first asks the public /healthz whether
 * the server checks credentials at all (--auth none: then nobody signs in); asking /users/me
 * without a token would answer 401, which the browser logs in the console on every visit.
 */
async function whoAmI() {
  if (!api.token() && !localStorage.getItem(AUTH_NONE_KEY)) {
    const health = await api.health().catch(() => null);
    if (!health || health.auth !== 'none') return null;
  }
  try {
    const me = await api.me();
    signedIn(me);
    return me;
  } catch {
    localStorage.removeItem(AUTH_NONE_KEY);
    return null; // 401: not signed in (or no more); the sign-in page follows
  }
}

/** signedIn is called with the user the server answered for. */
function signedIn(me) {
  state.me = me;
  if (me.auth === 'none') localStorage.setItem(AUTH_NONE_KEY, '1');
  else localStorage.removeItem(AUTH_NONE_KEY);
}

function onUnauthorized() {
  state.me = null;
  if (parseHash(location.hash).name !== 'signin') navigate(signInHash(location.hash));
}

async function showShortcuts() {
  if (document.querySelector('dialog.shortcuts')) return;
  const close = h('button', { type: 'submit', class: 'button' }, 'Close');
  let list = SHORTCUTS;
  if (state.route && state.route.name === 'study') {
    // The study view's own keys, from the table that drives them (the module is loaded already).
    const { shortcuts } = await import('./study.js');
    list = [...list, ...shortcuts.map((s) => [s.keys, s.action])];
  }
  const rows = list.map(([key, what]) => h('tr', {}, h('th', {}, h('kbd', {}, key)), h('td', {}, what)));
  const dialog = h('dialog', { class: 'shortcuts', 'aria-label': 'Keyboard shortcuts' },
    h('form', { method: 'dialog' }, h('h2', {}, 'Keyboard shortcuts'), h('table', {}, h('tbody', {}, rows)), h('div', { class: 'actions' }, close)));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

function onKey(e) {
  if (e.key === '?' && !isTyping(e) && !e.ctrlKey && !e.metaKey) {
    e.preventDefault();
    showShortcuts();
  }
}

/** Dropping files anywhere leads to the upload page, which takes them. */
function onDragOver(e) {
  if (state.me && e.dataTransfer && e.dataTransfer.types.includes('Files')) e.preventDefault();
}

async function onDrop(e) {
  if (!state.me || !e.dataTransfer || !e.dataTransfer.types.includes('Files')) return;
  e.preventDefault();
  const files = droppedFiles(e.dataTransfer); // must read the entries during the event
  if (parseHash(location.hash).name !== 'upload') {
    const rendered = new Promise((resolve) => window.addEventListener('medimg:rendered', resolve, { once: true }));
    navigate('#/upload');
    await rendered;
  }
  window.dispatchEvent(new CustomEvent('medimg:files', { detail: await files }));
}

async function main() {
  document.getElementById('app').replaceChildren(bar, view);
  state.me = await whoAmI();
  window.addEventListener('medimg:unauthorized', onUnauthorized);
  window.addEventListener('hashchange', async () => {
    await render();
    window.dispatchEvent(new Event('medimg:rendered'));
  });
  window.addEventListener('keydown', onKey);
  window.addEventListener('dragover', onDragOver);
  window.addEventListener('drop', onDrop);
  await render();
}

main();
