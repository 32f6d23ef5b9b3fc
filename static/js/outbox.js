// The phone's outbox: visits recorded without signal, kept in IndexedDB (one database per
// user, through the vendored idb-keyval) and sent in order, each once. The same file runs
// in the pages and in the service worker (Background Sync), so there is one way to send.
// "Once" is the server's promise (the idempotency key); the lock only spares duplicate work
// when two tabs and the worker wake up together.
(function (root) {
  "use strict";
  if (root.kehuOutbox) return;
  // idb-keyval is looked up on use: the page loads both scripts async, in any order.
  var kv = {
    createStore: function (a, b) { return root.idbKeyval.createStore(a, b); },
    values: function (s) { return root.idbKeyval.values(s); },
    get: function (k, s) { return root.idbKeyval.get(k, s); },
    set: function (k, v, s) { return root.idbKeyval.set(k, v, s); },
    del: function (k, s) { return root.idbKeyval.del(k, s); },
    clear: function (s) { return root.idbKeyval.clear(s); }
  };
  var stores = {};
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("kehu-outbox") : null;

  function dbName(user) { return "kehu-outbox-u" + user; }
  function store(user) {
    var name = dbName(user);
    return stores[name] || (stores[name] = kv.createStore(name, "visits"));
  }
  function changed(user, detail) {
    var message = { type: "changed", user: String(user), detail: detail || null };
    if (channel) channel.postMessage(message);
    if (root.dispatchEvent && typeof CustomEvent === "function") {
      root.dispatchEvent(new CustomEvent("kehu:outbox", { detail: message }));
    }
  }

  function list(user) {
    return kv.values(store(user)).then(function (items) {
      return items.sort(function (a, b) { return a.created < b.created ? -1 : a.created > b.created ? 1 : 0; });
    });
  }
  function add(user, item) {
    return kv.set(item.key, item, store(user)).then(function () { changed(user); });
  }
  function patch(user, key, values) {
    return kv.get(key, store(user)).then(function (item) {
      if (!item) return null;
      Object.keys(values).forEach(function (k) { item[k] = values[k]; });
      return kv.set(key, item, store(user)).then(function () { changed(user); return item; });
    });
  }
  function remove(user, key) {
    return kv.del(key, store(user)).then(function () { changed(user); });
  }
  function clear(user) {
    return kv.clear(store(user)).then(function () { changed(user); });
  }

  function body(item, csrf) {
    var form = new URLSearchParams();
    form.set("_csrf_token", csrf || "");
    ["customer_id", "idempotency_key", "outcome", "device_at", "lat", "lng", "accuracy", "fix_at"].forEach(function (k) {
      var v = k === "idempotency_key" ? item.key : item[k];
      if (v !== null && v !== undefined) form.set(k, String(v));
    });
    return form;
  }

  // Ask the server who is signed in (and for a fresh CSRF token) before sending anything.
  function state(urls) {
    return fetch(urls.state, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("state " + r.status); return r.json(); });
  }

  // One item: resolves "stored", "refused" or "later" (no answer: keep it waiting).
  function sendOne(user, item, csrf, urls) {
    return patch(user, item.key, { state: "sending" }).then(function () {
      return fetch(urls.sync, {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body(item, csrf).toString()
      });
    }).then(function (r) {
      if (r.ok) {
        return r.json().then(function (answer) {
          return remove(user, item.key).then(function () {
            changed(user, { stored: item.key, customer_id: String(item.customer_id), answer: answer });
            return "stored";
          });
        });
      }
      if (r.status >= 500) return refuse(user, item, "", "").then(function () { return "later"; });
      var reason = r.type === "opaqueredirect" || r.status === 401 ? "signed_out" : r.status === 403 ? "csrf" : "invalid";
      return r.json().catch(function () { return {}; }).then(function (answer) {
        return refuse(user, item, answer.reason || reason, answer.message || "").then(function () { return "refused"; });
      });
    }, function () {
      return patch(user, item.key, { state: "waiting" }).then(function () { return "later"; });
    });
  }
  function refuse(user, item, reason, message) {
    return patch(user, item.key, { state: reason ? "refused" : "waiting", reason: reason || null, message: message || "" });
  }

  function locked(user, work) {
    var locks = root.navigator && root.navigator.locks;
    if (locks && locks.request) return locks.request("kehu-outbox-u" + user, work);
    return work();
  }

  // Send every waiting visit in order; stop at the first that gets no answer.
  function flush(user, urls) {
    return locked(user, function () {
      return list(user).then(function (items) {
        var todo = items.filter(function (i) { return i.state !== "refused"; });
        if (!todo.length) return { sent: 0 };
        return state(urls).then(function (s) {
          if (!s.user || String(s.user) !== String(user)) {
            return Promise.all(todo.map(function (i) { return refuse(user, i, "signed_out", ""); }))
              .then(function () { return { sent: 0, signedOut: true }; });
          }
          var sent = 0;
          var chain = Promise.resolve("stored");
          todo.forEach(function (item) {
            chain = chain.then(function (last) {
              if (last === "later") return "later";
              return sendOne(user, item, s.csrf, urls).then(function (result) {
                if (result === "stored") sent += 1;
                return result === "later" ? "later" : "stored";
              });
            });
          });
          return chain.then(function () { return { sent: sent }; });
        });
      }).catch(function () { return { sent: 0, failed: true }; });
    });
  }

  root.kehuOutbox = {
    dbName: dbName,
    list: list,
    add: add,
    patch: patch,
    remove: remove,
    clear: clear,
    flush: flush,
    channel: channel
  };
})(self);
