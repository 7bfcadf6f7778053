// The stand till's service worker: a reload or a browser restart without signal still
// opens the till. Served from /pameran/kasir-sw.js so that it may control the stand
// screens under /pameran/; it touches nothing but them and the assets they load.
//
// - The till screen (…/kasir): network first; every good answer is kept, and without
//   a network the last kept copy is shown. Cash sales keep queuing in localStorage
//   (stand.js) and are sent when the network is back; "Bayar QR" says it needs it.
// - The till's scripts, styles and icons: from the cache at once, refreshed behind.
// - Everything else (sales list, charges, sales being sent) goes to the network as usual.
const VERSION = "gerai-till-v1";
const ASSETS = [
  "/static/css/gerai.css",
  "/static/vendor/htmx.min.js",
  "/static/js/gerai.js",
  "/static/js/stand.js",
  "/static/favicon.svg",
  "/static/till.webmanifest",
  "/static/icons/gerai-192.png",
];
const TILL = /^\/pameran\/[^/]+\/[^/]+\/kasir\/?$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== VERSION).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

async function tillScreen(request) {
  const cache = await caches.open(VERSION);
  try {
    const response = await fetch(request);
    // Only a real till page is kept: not a login page it was redirected to, not an error.
    if (response.ok && !response.redirected) await cache.put(request.url, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(request.url);
    if (kept) return kept;
    throw error;
  }
}

async function asset(request, event) {
  const cache = await caches.open(VERSION);
  const kept = await cache.match(request.url, { ignoreSearch: true });
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(request.url, response.clone());
    return response;
  });
  if (kept) {
    event.waitUntil(fresh.catch(() => null));  // offline: the kept copy is all there is
    return kept;
  }
  return fresh;
}

// A till screen opened before this worker was installed asks to be kept.
self.addEventListener("message", (event) => {
  const url = event.data && event.data.keep && new URL(event.data.keep);
  if (!url || url.origin !== self.location.origin || !TILL.test(url.pathname)) return;
  event.waitUntil(caches.open(VERSION).then(async (cache) => {
    if (await cache.match(url.href)) return;
    const response = await fetch(url.href, { credentials: "same-origin" });
    if (response.ok && !response.redirected) await cache.put(url.href, response);
  }));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && TILL.test(url.pathname)) {
    event.respondWith(tillScreen(request));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(asset(request, event));
  }
});
