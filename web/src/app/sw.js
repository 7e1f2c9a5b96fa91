// The tablet app's service worker (scope /app/): after one online visit the app opens and records
// with the network off.
//
// - The app shell (HTML, script, style, manifest, icons) is cached at install and served from
//   the cache, revalidated in the background (the server's strong ETags make that a 304).
// - The rubrics (every language the app asks for) and the roster slice in the person's scope
//   (sites, classrooms, staff, student groups) are fetched from the network when it answers and
//   from the cache when it does not. A cached rubric version is revalidated with If-None-Match,
//   so an unchanged rubric costs a 304; a changed one (a new version, announced by the pull's
//   rubric changes) replaces it.
// - Sync calls (POST) and everything else go to the network untouched.
const SHELL = 'lookfor-app-shell-v1';
const DATA = 'lookfor-app-data-v1';
const ASSETS = ['/app/', '/app/main.js', '/app/style.css', '/app/manifest.webmanifest', '/app/icon.svg', '/app/icon-192.png', '/app/icon-512.png'];
const DATA_PATHS = [/^\/v1\/rubrics(\/|$)/, /^\/v1\/districts\/[^/]+\/(sites|classrooms|staff|student_groups)$/, /^\/v1\/districts\/[^/]+\/sites\/[^/]+\/classrooms$/];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) if (![SHELL, DATA].includes(k)) await caches.delete(k);
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  // The app clears the data cache when another person signs in on this tablet.
  if (event.data === 'clear-data') event.waitUntil(caches.delete(DATA));
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/app/')) event.respondWith(shell(req, url, event));
  else if (DATA_PATHS.some((p) => p.test(url.pathname))) event.respondWith(data(req));
});

// shell answers from the cache (client routes get the app's index) and refreshes the cache.
async function shell(req, url, event) {
  const cache = await caches.open(SHELL);
  const key = ASSETS.includes(url.pathname) ? url.pathname : (/\.[a-z0-9]+$/.test(url.pathname) ? url.pathname : '/app/');
  const cached = await cache.match(key);
  const refresh = fetch(key, { cache: 'no-cache' }).then((r) => {
    if (r.ok) cache.put(key, r.clone());
    return r;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => {}));
    return cached;
  }
  return refresh;
}

// data answers from the network, revalidating with the cached copy's ETag, and from the cache
// when the network fails or the session has ended (the app still records; sync asks to sign in).
async function data(req) {
  const cache = await caches.open(DATA);
  const cached = await cache.match(req);
  const headers = new Headers(req.headers);
  const etag = cached?.headers.get('ETag');
  if (etag) headers.set('If-None-Match', etag);
  try {
    const r = await fetch(req.url, { headers, credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 304 && cached) return cached;
    if (r.ok) {
      await cache.put(req, r.clone());
      return r;
    }
    if (cached && (r.status === 401 || r.status >= 500)) return cached;
    return r;
  } catch (e) {
    if (cached) return cached;
    throw e;
  }
}
