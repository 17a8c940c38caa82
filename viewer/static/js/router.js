// router.js: the routes are in the hash (#/studies?…, #/study/UID?…, #/users, #/upload,
// #/signin?next=…), so that links can be shared, Back works and the server serves one page.

/** ROUTES are the route names; the first is the default. */
export const ROUTES = ['studies', 'study', 'users', 'upload', 'signin'];

/** parseHash reads a location hash into {name, uid, params}; anything unknown is the study list. */
export function parseHash(hash) {
  const [path, query = ''] = (hash || '').replace(/^#\/?/, '').split(/\?(.*)/s);
  const [name, uid = ''] = path.split('/');
  const params = new URLSearchParams(query);
  if (!ROUTES.includes(name) || (name === 'study' && !uid)) return { name: 'studies', uid: '', params };
  return { name, uid: decodeURIComponent(uid), params };
}

/** hashOf builds the hash of a route: hashOf('studies', params), hashOf('study', params, uid). */
export function hashOf(name, params, uid) {
  const q = params ? new URLSearchParams(params).toString() : '';
  return '#/' + name + (uid ? '/' + encodeURIComponent(uid) : '') + (q ? '?' + q : '');
}

/** signInHash is the sign-in route that leads back to hash afterwards. */
export function signInHash(hash) {
  const next = parseHash(hash).name === 'signin' ? '' : hash;
  return hashOf('signin', next ? { next } : null);
}

/** nextHash is where sign-in leads: the "next" of the route, if it is one of ours, else the list. */
export function nextHash(params) {
  const next = params.get('next') || '';
  return next.startsWith('#/') && parseHash(next).name !== 'signin' ? next : '#/studies';
}
