// Kehu's service worker, served at the site root by web/visits/offline.py, which replaces
// the CONFIG line below with its version, the app shell's URLs and the texts it needs.
// - The app shell (CSS, scripts, icons) is cached on install, in a cache named after the
//   version (a hash of every static file): an update installs beside the old worker and
//   deletes the old caches on activate.
// - Pages are fetched from the network first; each signed-in page is kept, per user and
//   bounded, and served when there is no network, marked as an offline copy.
// - Background Sync sends the outbox (static/js/outbox.js) when the signal returns.
"use strict";
var CONFIG = self.KEHU_CONFIG;
var VERSION = CONFIG.version;
var STATIC_CACHE = "kehu-static-" + VERSION;
var META_CACHE = "kehu-meta";
var MAX_PAGES = 40;
var USER_KEY = "/__kehu/user";

function pagesCache(user) { return "kehu-pages-" + VERSION + "-u" + user; }
function shellUrl(part) {
  for (var i = 0; i < CONFIG.shell.length; i++) if (CONFIG.shell[i].indexOf(part) >= 0) return CONFIG.shell[i];
  return null;
}

importScripts(shellUrl("vendor/idb-keyval/umd.js"), shellUrl("js/outbox.js"));

function currentUser() {
  return caches.open(META_CACHE)
    .then(function (c) { return c.match(USER_KEY); })
    .then(function (r) { return r ? r.text() : ""; });
}
function setUser(user) {
  return caches.open(META_CACHE).then(function (c) {
    return user ? c.put(USER_KEY, new Response(String(user))) : c.delete(USER_KEY);
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC_CACHE).then(function (c) { return c.addAll(CONFIG.shell); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      var ours = name.indexOf("kehu-") === 0 && name !== META_CACHE;
      var current = name === STATIC_CACHE || name.indexOf("kehu-pages-" + VERSION + "-") === 0;
      return ours && !current;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

// Keep a signed-in page for its user (the page names them), newest last, at most MAX_PAGES.
function keep(url, response) {
  return response.text().then(function (html) {
    var m = /data-kehu-user="(\d+)"/.exec(html);
    if (!m) return null;
    var headers = new Headers(response.headers);
    headers.set("x-kehu-saved", new Date().toISOString());
    var copy = new Response(html, { status: 200, headers: headers });
    return Promise.all([caches.open(pagesCache(m[1])), setUser(m[1])]).then(function (opened) {
      var cache = opened[0];
      return cache.delete(url).then(function () { return cache.put(url, copy); })
        .then(function () { return cache.keys(); })
        .then(function (keys) {
          return Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_PAGES)).map(function (k) { return cache.delete(k); }));
        });
    });
  });
}

function offlinePage() {
  var html = "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width, initial-scale=1'>" +
    "<title>" + CONFIG.offlineTitle + "</title><body style='font:16px/1.5 system-ui,sans-serif;margin:2rem'>" +
    "<h1>" + CONFIG.offlineTitle + "</h1><p>" + CONFIG.offlineText + "</p><p><a href='" + CONFIG.home + "'>" +
    CONFIG.offlineHome + "</a></p></body>";
  return new Response(html, { status: 503, headers: { "content-type": "text/html; charset=utf-8" } });
}

// The saved copy of a page, marked for offline.js ("Saved <time>, offline").
function savedCopy(url) {
  return currentUser().then(function (user) {
    if (!user) return null;
    return caches.open(pagesCache(user)).then(function (c) { return c.match(url, { ignoreVary: true }); });
  }).then(function (hit) {
    if (!hit) return offlinePage();
    var saved = hit.headers.get("x-kehu-saved") || "";
    return hit.text().then(function (html) {
      html = html.replace('data-kehu-user="', 'data-offline-saved="' + saved + '" data-kehu-user="');
      return new Response(html, { status: 200, headers: { "content-type": "text/html; charset=utf-8" } });
    });
  });
}

function page(event) {
  var url = event.request.url.split("#")[0];
  return fetch(event.request).then(function (response) {
    var html = (response.headers.get("content-type") || "").indexOf("text/html") === 0;
    if (response.ok && html) {
      var urls = response.redirected ? [url, response.url] : [url];
      event.waitUntil(Promise.all(urls.map(function (u) { return keep(u, response.clone()); })));
    }
    return response;
  }, function () { return savedCopy(url); });
}

function asset(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) { event.respondWith(asset(request)); return; }
  if (request.mode === "navigate") event.respondWith(page(event));
});

// Pages due today, saved ahead for offline use (the server does not count these as views).
function prefetch(urls) {
  return urls.reduce(function (chain, u) {
    return chain.then(function () {
      return fetch(u, { credentials: "same-origin", headers: { "X-Kehu-Prefetch": "1" } }).then(function (r) {
        if (r.ok && (r.headers.get("content-type") || "").indexOf("text/html") === 0) return keep(u, r);
        return null;
      }).catch(function () { return null; });
    });
  }, Promise.resolve());
}

function forget(user) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return /^kehu-pages-/.test(n) && n.slice(-("-u" + user).length) === "-u" + user; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return setUser(""); });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var done;
  if (data.type === "user") done = setUser(data.user);
  else if (data.type === "prefetch") done = prefetch((data.urls || []).slice(0, 15));
  else if (data.type === "signout") done = forget(data.user);
  if (!done) return;
  event.waitUntil(done.then(function () {
    if (event.ports && event.ports[0]) event.ports[0].postMessage({ ok: true });
  }));
});

self.addEventListener("sync", function (event) {
  if (event.tag !== "kehu-outbox") return;
  event.waitUntil(currentUser().then(function (user) {
    if (!user || !self.kehuOutbox) return null;
    return self.kehuOutbox.flush(user, { state: CONFIG.stateUrl, sync: CONFIG.syncUrl });
  }));
});
