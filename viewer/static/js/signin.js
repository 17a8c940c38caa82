// signin.js: the sign-in page. It exchanges the password for a token (api.signIn), then leads
// back to the route the person was on when the server asked for credentials (#/signin?next=…).
import * as api from './api.js';
import { h, notice } from './ui.js';
import { nextHash } from './router.js';

/** retryAt says when a throttled sign-in may be tried again, from the server's "retry after 1m30s". */
export function retryAt(message, now = new Date()) {
  const m = /retry after (?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?/.exec(message || '');
  if (!m || !(m[1] || m[2] || m[3])) return '';
  const seconds = (Number(m[1]) || 0) * 3600 + (Number(m[2]) || 0) * 60 + (Number(m[3]) || 0);
  return new Date(now.getTime() + seconds * 1000).toLocaleTimeString();
}

function failureText(err) {
  if (err.status === 429) {
    const at = retryAt(err.message);
    return at ? `Too many failed sign-ins: try again at ${at}.` : err.message;
  }
  if (err instanceof api.HttpError) return err.message;
  return 'The server cannot be reached: ' + err.message;
}

/**
 * signInOrNone signs in; a server without password sign-in (404) may check no credentials at all
 * (--auth none), which GET /users/me then says: the caller's api.me() goes through.
 */
async function signInOrNone(username, password) {
  try {
    await api.signIn(username, password);
  } catch (err) {
    if (err.status !== 404) throw err;
    const me = await api.me();
    if (me.auth !== 'none') throw err;
  }
}

/** showSignIn fills root with the sign-in form. */
export function showSignIn(root, ctx) {
  const username = h('input', { id: 'signin-username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const password = h('input', { id: 'signin-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('div', { class: 'form-message', 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Sign in');
  const form = h('form', { class: 'signin card', onsubmit: onSubmit },
    h('h1', {}, 'Sign in'),
    h('label', { for: 'signin-username' }, 'Username'), username,
    h('label', { for: 'signin-password' }, 'Password'), password,
    message, submit);

  async function onSubmit(e) {
    e.preventDefault();
    submit.disabled = true;
    message.replaceChildren();
    try {
      await signInOrNone(username.value.trim(), password.value);
      ctx.signedIn(await api.me());
      ctx.navigate(nextHash(ctx.params));
    } catch (err) {
      message.replaceChildren(notice('error', failureText(err)));
      password.select();
    } finally {
      submit.disabled = false;
    }
  }

  root.replaceChildren(form);
  username.focus();
}
