// users.js: the users page (admins): list, create, change role, activate or deactivate, reset a
// password. The server checks everything; this page shows its 422 messages next to the fields
// they name and its 409 messages (name taken, last admin) as they are.
import * as api from './api.js';
import { h, notice, toast } from './ui.js';

const ROLES = ['sender', 'reader', 'editor', 'admin'];

function roleSelect(id, value, onchange) {
  return h('select', { id, name: 'role', onchange }, ROLES.map((r) => h('option', { value: r, selected: r === value }, r)));
}

/** showFieldErrors puts each of the server's field messages under its field in form, and the rest in general. */
function showFieldErrors(form, general, err) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  const unplaced = [];
  for (const f of err.fields || []) {
    const slot = form.querySelector(`.field-error[data-field="${CSS.escape(f.field)}"]`);
    if (slot) slot.textContent = f.message;
    else unplaced.push(f.field + ': ' + f.message);
  }
  const text = (err.fields && err.fields.length ? unplaced : [err.message, ...unplaced]).filter(Boolean).join('. ');
  general.replaceChildren(text ? notice('error', text) : '');
}

function labelled(id, label, input, field) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, h('span', { class: 'field-error', dataset: { field }, 'aria-live': 'polite' }));
}

/** createForm makes a user (POST /users) and calls onCreated. */
function createForm(onCreated) {
  const username = h('input', { id: 'new-username', autocomplete: 'off', required: true });
  const email = h('input', { id: 'new-email', type: 'email', autocomplete: 'off' });
  const password = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', required: true });
  const role = roleSelect('new-role', 'reader');
  const general = h('div', { class: 'form-message' });
  const form = h('form', { class: 'create-user card', novalidate: true, onsubmit: submit },
    h('h2', {}, 'New user'),
    h('div', { class: 'row' },
      labelled('new-username', 'Username', username, 'username'),
      labelled('new-email', 'Email (optional)', email, 'email'),
      labelled('new-password', 'Password', password, 'password'),
      labelled('new-role', 'Role', role, 'role'),
      h('div', { class: 'field submit' }, h('button', { type: 'submit', class: 'button primary' }, 'Create'))),
    general);
  async function submit(e) {
    e.preventDefault();
    const body = { username: username.value.trim(), password: password.value, role: role.value };
    if (email.value.trim()) body.email = email.value.trim();
    try {
      const user = await api.json('/users', { method: 'POST', body });
      form.reset();
      showFieldErrors(form, general, {});
      toast(`User ${user.username} created`, 'success');
      onCreated();
    } catch (err) {
      showFieldErrors(form, general, err);
    }
  }
  return form;
}

/** patch changes a user and says how it went; it resolves to whether it worked. */
async function patch(user, body, what) {
  try {
    await api.json('/users/' + user.id, { method: 'PATCH', body });
    toast(`${user.username}: ${what}`, 'success');
    return true;
  } catch (err) {
    const detail = (err.fields || []).map((f) => f.message).join('; ');
    toast(`${user.username}: ${detail || err.message}`, 'error');
    return false;
  }
}

function passwordDialog(user, onDone) {
  const input = h('input', { id: 'reset-password', type: 'password', autocomplete: 'new-password', required: true });
  const error = h('p', { class: 'field-error', 'aria-live': 'polite' });
  const dialog = h('dialog', { class: 'confirm', 'aria-label': 'Reset password' });
  const form = h('form', { onsubmit: submit },
    h('h2', {}, `New password for ${user.username}`), h('label', { for: 'reset-password' }, 'Password'), input, error,
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'button', onclick: () => dialog.close() }, 'Cancel'), h('button', { type: 'submit', class: 'button primary' }, 'Set password')));
  async function submit(e) {
    e.preventDefault();
    try {
      await api.json('/users/' + user.id, { method: 'PATCH', body: { password: input.value } });
      toast(`${user.username}: password set; their sessions ended`, 'success');
      dialog.close();
      onDone();
    } catch (err) {
      error.textContent = (err.fields || []).map((f) => f.message).join('; ') || err.message;
    }
  }
  dialog.append(form);
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}

function userRow(user, reload) {
  const role = roleSelect('role-' + user.id, user.role, async () => {
    if (!(await patch(user, { role: role.value }, 'role ' + role.value))) role.value = user.role;
    reload();
  });
  role.setAttribute('aria-label', 'Role of ' + user.username);
  const toggle = h('button', { type: 'button', class: 'button small', 'data-action': 'active', onclick: async () => {
    await patch(user, { active: !user.active }, user.active ? 'deactivated' : 'activated');
    reload();
  } }, user.active ? 'Deactivate' : 'Activate');
  const reset = h('button', { type: 'button', class: 'button small', 'data-action': 'password', onclick: () => passwordDialog(user, reload) }, 'Reset password');
  return h('tr', { dataset: { username: user.username }, class: user.active ? '' : 'inactive' },
    h('td', {}, user.username), h('td', {}, user.email || ''), h('td', {}, role),
    h('td', {}, user.active ? 'active' : 'inactive'), h('td', {}, (user.created_at || '').slice(0, 10)),
    h('td', { class: 'actions' }, toggle, reset));
}

/** showUsers fills root with the users page, or a "not allowed" state for other roles. */
export async function showUsers(root, ctx) {
  if (ctx.me.role !== 'admin') {
    root.replaceChildren(notice('info', 'Managing users is not allowed for your role.'));
    return;
  }
  const tbody = h('tbody');
  const table = h('table', { class: 'users' },
    h('thead', {}, h('tr', {}, ['Username', 'Email', 'Role', 'Status', 'Created', ''].map((t) => h('th', { scope: 'col' }, t)))), tbody);
  const list = h('section', { 'aria-label': 'Users' }, table);
  let disposed = false;
  async function reload() {
    try {
      const users = await api.json('/users?limit=1000');
      if (!disposed) tbody.replaceChildren(...users.map((u) => userRow(u, reload)));
    } catch (err) {
      if (!disposed) list.replaceChildren(notice('error', 'The users could not be listed: ' + err.message));
    }
  }
  root.replaceChildren(h('h1', {}, 'Users'), createForm(reload), list);
  await reload();
  return () => {
    disposed = true;
  };
}
