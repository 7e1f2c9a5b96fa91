// The web sign-in, shared by the pages and the tablet app: one place that knows how a browser
// is signed in (lookfor's session cookie, set by /auth/callback) and how calls that change
// something carry the CSRF token.

let current = null;

// session asks the server who is signed in; it resolves the person through the roster now.
// → { signed_in, user_id, role, district_id, site_ids, csrf_token }
export async function session(refresh = false) {
  if (current && !refresh) return current;
  const r = await fetch('/auth/session', { credentials: 'same-origin', cache: 'no-store' });
  if (!r.ok) throw new Error(`GET /auth/session answered ${r.status}`);
  current = await r.json();
  return current;
}

// signInURL is where a browser goes to sign in, coming back to returnTo (a path on this site).
export function signInURL(returnTo) {
  return '/auth/login?return_to=' + encodeURIComponent(returnTo);
}

// api calls the REST gateway with the session cookie; calls that change something send the CSRF
// token. It resolves to the Response (callers read the status: 4xx bodies carry code, reason,
// field and message).
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = (await session()).csrf_token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
  }
  return fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

// signOut ends the session on the server.
export async function signOut() {
  await api('POST', '/auth/logout');
  current = null;
}
