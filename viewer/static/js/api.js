// api.js: the viewer's only way to the server. It speaks the public HTTP API (DICOMweb under
// /dicomweb, /auth/token, /users, /audit) as any client would, with the bearer token of the tab.
import { parseMultipart } from './multipart.js';

const TOKEN_KEY = 'medimg.token';

/** The bearer token of this tab ('' when signed out); kept in sessionStorage, so closing the tab signs out. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** HttpError is a non-2xx answer, with the server's {"code", "message", "fields"} when it sent one. */
export class HttpError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || '';
    this.fields = (body && body.fields) || [];
  }
}

/**
 * request sends one request and returns the Response when it is 2xx or 304. A 401 fires the window
 * event "medimg:unauthorized" (the app then shows sign-in and comes back) and throws an HttpError.
 * opts: method, headers, body, signal, accept.
 */
export async function request(path, opts = {}) {
  const headers = new Headers(opts.headers || {});
  // Marks the request as a script's, so that a 401 carries no Basic challenge (no browser dialog).
  headers.set('X-Requested-With', 'XMLHttpRequest');
  if (opts.accept) headers.set('Accept', opts.accept);
  const t = token();
  if (t && !headers.has('Authorization')) headers.set('Authorization', 'Bearer ' + t);
  const resp = await fetch(path, { method: opts.method || 'GET', headers, body: opts.body, signal: opts.signal, cache: 'no-cache' });
  if (resp.ok || resp.status === 304) return resp;
  let body = null;
  try {
    body = await resp.json();
  } catch {
    // not JSON: the status says enough
  }
  if (resp.status === 401) window.dispatchEvent(new CustomEvent('medimg:unauthorized'));
  throw new HttpError(resp.status, body);
}

/** json sends a request and returns the parsed JSON body (null for 204). A plain object body is sent as JSON. */
export async function json(path, opts = {}) {
  const o = { ...opts, accept: opts.accept || 'application/json' };
  if (o.body && typeof o.body === 'object' && !(o.body instanceof FormData) && !(o.body instanceof URLSearchParams) && !(o.body instanceof Blob)) {
    o.headers = { ...(o.headers || {}), 'Content-Type': 'application/json' };
    o.body = JSON.stringify(o.body);
  }
  const resp = await request(path, o);
  if (resp.status === 204) return null;
  return resp.json();
}

/** signIn exchanges a username and password for a token (OAuth2 password grant) and keeps it. */
export async function signIn(username, password) {
  const body = new URLSearchParams({ grant_type: 'password', username, password });
  const resp = await fetch('/auth/token', { method: 'POST', body, headers: { 'X-Requested-With': 'XMLHttpRequest' } });
  const answer = await resp.json().catch(() => null);
  if (!resp.ok) throw new HttpError(resp.status, answer);
  setToken(answer.access_token);
  return answer;
}

/** signOut revokes the token on the server and forgets it. */
export async function signOut() {
  try {
    if (token()) await request('/auth/logout', { method: 'POST' });
  } catch {
    // already expired or revoked: signed out all the same
  } finally {
    setToken('');
  }
}

/** health returns the public /healthz answer: {status, auth} (auth: local, oidc, local,oidc or none). */
export async function health() {
  const resp = await fetch('/healthz', { cache: 'no-cache' });
  return resp.json();
}

/** me returns the signed-in user ({username, role, …}); with --auth none, {username: "anonymous", role: "admin", auth: "none"}. */
export function me() {
  return json('/users/me');
}

/**
 * qido searches (PS3.18 §10.6): path such as "/dicomweb/studies", params an object or
 * URLSearchParams. Returns {results, more, warnings}: more is true when the server's Warning
 * header says there are results beyond the page.
 */
export async function qido(path, params = {}) {
  const q = new URLSearchParams(params).toString();
  const resp = await request(path + (q ? '?' + q : ''), { accept: 'application/dicom+json' });
  const warnings = (resp.headers.get('Warning') || '').split(/,(?=\s*\d{3}\s)/).map((w) => w.trim()).filter(Boolean);
  const results = resp.status === 204 ? [] : await resp.json();
  return { results, warnings, more: warnings.some((w) => /more results/i.test(w)) };
}

/** dicomweb is the path of a study, series or instance resource. */
export function dicomweb(study, series, instance) {
  let p = '/dicomweb/studies/' + study;
  if (series) p += '/series/' + series;
  if (instance) p += '/instances/' + instance;
  return p;
}

/** metadata returns the PS3.18 Annex F JSON of every instance of a study or series. */
export async function metadata(study, series, opts = {}) {
  const resp = await request(dicomweb(study, series) + '/metadata', { accept: 'application/dicom+json', signal: opts.signal });
  return resp.json();
}

/** NATIVE asks frames as native little-endian pixels: the server decodes RLE and JPEG for it. */
export const NATIVE = 'multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1';

/**
 * frames retrieves frames (1-based numbers) of an instance and returns one
 * {contentType, data: ArrayBuffer} per frame, in order. accept defaults to NATIVE.
 */
export async function frames(study, series, instance, numbers, opts = {}) {
  const resp = await request(dicomweb(study, series, instance) + '/frames/' + numbers.join(','), {
    accept: opts.accept || NATIVE,
    signal: opts.signal,
  });
  const buf = await resp.arrayBuffer();
  return parseMultipart(buf, resp.headers.get('Content-Type'));
}

/**
 * objectURL fetches an image (rendered, thumbnail) with the token and returns a blob: URL for an
 * <img>; the caller revokes it (URL.revokeObjectURL) when done.
 */
export async function objectURL(path, opts = {}) {
  const resp = await request(path, { accept: opts.accept || 'image/jpeg', signal: opts.signal });
  return URL.createObjectURL(await resp.blob());
}

/** download saves the response of path (e.g. a study as application/zip) as a file named name. */
export async function download(path, accept, name) {
  const resp = await request(path, { accept });
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
