// Offline use on the phone: registers the service worker, marks offline copies, keeps a
// visit tapped without signal in the outbox (static/js/outbox.js) and shows it at once as
// "Waiting to send", counts what waits in the header badge, sends when the signal returns
// (online event, page load, a timer, Background Sync) and lets the user retry or discard a
// refused visit. Signing out asks before discarding unsent visits, then clears this user's
// saved pages and outbox. Loaded by the base page for signed-in users only.
(function () {
  "use strict";
  // Loaded async (the first view on a weak network does not wait for it): start once the
  // page is parsed and the outbox (with idb-keyval) has arrived.
  var tries = 0;
  function boot() {
    if (window.kehuOffline) return;
    if (document.readyState === "loading" || !window.kehuOutbox || !window.idbKeyval) {
      if (++tries < 600) window.setTimeout(boot, 30); // a script that never came: give up
      return;
    }
    window.kehuOffline = true;
    start(document.getElementById("visit-offline"), window.kehuOutbox);
  }
  boot();

  function start(box, outbox) {
    if (!box) return;
    var d = box.dataset;
    var user = d.kehuUser;
    var urls = { state: d.stateUrl, sync: d.syncUrl };
    var RETRY_MS = 20000;

    function reasonText(item) {
      var key = "tReason" + String(item.reason || "invalid").replace(/(^|_)([a-z])/g, function (_m, _s, c) { return c.toUpperCase(); });
      return d[key] || item.message || d.tReasonInvalid;
    }
    // The server's one date format per language: "2026年12月1日 14:24" / "Dec 1, 2026 2:24 PM".
    var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    function two(n) { return (n < 10 ? "0" : "") + n; }
    function when(iso) {
      var t = new Date(iso);
      if (isNaN(t.getTime())) return iso;
      if (/^zh/i.test(document.documentElement.lang || "")) {
        return t.getFullYear() + "年" + (t.getMonth() + 1) + "月" + t.getDate() + "日 " + two(t.getHours()) + ":" + two(t.getMinutes());
      }
      var h = t.getHours() % 12 || 12;
      return MONTHS[t.getMonth()] + " " + t.getDate() + ", " + t.getFullYear() + " " + h + ":" + two(t.getMinutes()) + "\u202f" + (t.getHours() < 12 ? "AM" : "PM");
    }
    function el(tag, cls, text) {
      var node = document.createElement(tag);
      if (cls) node.className = cls;
      if (text !== undefined) node.textContent = text;
      return node;
    }

    // --- the service worker and the offline copy ------------------------------------------
    function worker(message) {
      if (!("serviceWorker" in navigator)) return Promise.resolve();
      return navigator.serviceWorker.ready.then(function (reg) {
        if (!reg.active) return null;
        return new Promise(function (resolve) {
          var ch = new MessageChannel();
          ch.port1.onmessage = function () { resolve(); };
          reg.active.postMessage(message, [ch.port2]);
          window.setTimeout(resolve, 2000);
        });
      });
    }
    if ("serviceWorker" in navigator && d.workerUrl) {
      navigator.serviceWorker.register(d.workerUrl, { scope: d.homeUrl }).catch(function () {});
      worker({ type: "user", user: user });
      var links = [];
      if (location.pathname === d.homeUrl && navigator.onLine) {
        // Today's customers are saved ahead, so they open without signal later.
        var seen = {};
        links = Array.prototype.map.call(document.querySelectorAll("main a[href]"), function (a) { return a.getAttribute("href"); })
          .filter(function (h) {
            var ok = h.indexOf(d.customerPrefix) === 0 && /^\d+$/.test(h.slice(d.customerPrefix.length)) && !seen[h];
            seen[h] = true;
            return ok;
          });
      }
      // A page loaded before the worker controlled it (the very first visit) was not kept
      // on its way in: the worker fetches it once more, so it opens offline too.
      if (!navigator.serviceWorker.controller && navigator.onLine) links.unshift(location.pathname + location.search);
      if (links.length) window.setTimeout(function () { worker({ type: "prefetch", urls: links }); }, 1500);
    }
    if (box.dataset.offlineSaved !== undefined) {
      var note = box.querySelector("[data-offline-copy]");
      note.textContent = d.tCopy.replace("{time}", when(box.dataset.offlineSaved));
      note.hidden = false;
      document.documentElement.classList.add("offline-copy-page");
    }

    // --- showing the outbox -----------------------------------------------------------------
    function actions(item) {
      var row = el("span", "outbox-actions");
      if (item.state === "refused") {
        if (item.reason === "signed_out") {
          var login = el("a", "button small", d.tSignIn);
          login.href = d.loginUrl + "?next=" + encodeURIComponent(location.pathname);
          row.appendChild(login);
        }
        var retry = el("button", "small", d.tRetry);
        retry.type = "button";
        retry.setAttribute("data-outbox-retry", item.key);
        row.appendChild(retry);
      }
      var discard = el("button", "small link", d.tDiscard);
      discard.type = "button";
      discard.setAttribute("data-outbox-discard", item.key);
      row.appendChild(discard);
      return row;
    }
    function status(item) {
      if (item.state === "refused") return el("p", "outbox-reason", reasonText(item));
      return el("p", "outbox-status", item.state === "sending" ? d.tSending : d.tWaiting);
    }
    function timelineItem(item) {
      var li = el("li", "visit-item pending" + (item.state === "refused" ? " refused" : ""));
      li.id = "pending-" + item.key;
      li.setAttribute("data-pending-visit", item.key);
      var head = el("div", "visit-head");
      head.appendChild(el("strong", "visit-outcome", item.label));
      var time = el("time", "", when(item.device_at));
      time.setAttribute("datetime", item.device_at);
      head.appendChild(time);
      li.appendChild(head);
      li.appendChild(status(item));
      li.appendChild(actions(item));
      return li;
    }
    function sheetItem(item) {
      var li = el("li", "outbox-item" + (item.state === "refused" ? " refused" : ""));
      li.appendChild(el("strong", "", item.customer_name + " · " + item.label));
      li.appendChild(el("span", "muted", " " + when(item.device_at)));
      li.appendChild(status(item));
      li.appendChild(actions(item));
      return li;
    }

    function render() {
      return outbox.list(user).then(function (items) {
        var badge = document.getElementById("visit-outbox-badge");
        if (badge) {
          badge.hidden = items.length === 0;
          badge.querySelector("[data-outbox-count]").textContent = String(items.length);
          badge.classList.toggle("has-refused", items.some(function (i) { return i.state === "refused"; }));
        }
        var list = box.querySelector("[data-outbox-list]");
        list.innerHTML = "";
        items.forEach(function (i) { list.appendChild(sheetItem(i)); });
        if (!items.length) box.querySelector("#visit-offline-outbox").hidden = true;
        var recorder = document.querySelector("[data-visit-recorder]");
        var timeline = document.getElementById("visit-list");
        Array.prototype.forEach.call(document.querySelectorAll("[data-pending-visit]"), function (n) { n.remove(); });
        if (!recorder || !timeline) return items;
        var mine = items.filter(function (i) { return String(i.customer_id) === recorder.dataset.customerId; });
        mine.forEach(function (i) { timeline.insertBefore(timelineItem(i), timeline.firstChild); });
        var note = document.querySelector("[data-outbox-note]");
        var waiting = mine.some(function (i) { return i.state !== "refused"; });
        if (note && !waiting) note.remove(); // "kept on this phone" is true only while it waits
        var empty = document.querySelector("[data-visits-empty]");
        if (empty) empty.hidden = mine.length > 0;
        return items;
      });
    }

    // --- keeping a visit ------------------------------------------------------------------
    function sheetSays(form, text) {
      var slot = form.querySelector("[data-geo-status]");
      if (slot) slot.textContent = text;
      var recorder = form.closest("[data-visit-recorder]");
      var old = recorder && recorder.querySelector("[data-outbox-note]");
      if (old) old.remove();
      if (!recorder) return;
      var note = el("p", "outbox-note", text);
      note.setAttribute("role", "status");
      note.setAttribute("data-outbox-note", "");
      recorder.appendChild(note);
    }
    function keep(form, outcomeButton) {
      var recorder = form.closest("[data-visit-recorder]");
      if (window.kehuVisits && window.kehuVisits.stamp) window.kehuVisits.stamp(form);
      var value = function (n) { return form.elements[n] ? form.elements[n].value : ""; };
      var item = {
        key: value("idempotency_key"),
        customer_id: recorder ? recorder.dataset.customerId : "",
        customer_name: (document.title || "").split(" · ")[0],
        outcome: outcomeButton ? outcomeButton.value : value("outcome"),
        label: outcomeButton ? outcomeButton.textContent.trim() : "",
        device_at: value("device_at") || new Date().toISOString(),
        lat: value("lat") || null,
        lng: value("lng") || null,
        accuracy: value("accuracy") || null,
        fix_at: value("fix_at") || null,
        created: new Date().toISOString(),
        state: "waiting",
        reason: null
      };
      if (!item.key || !item.outcome) return Promise.resolve();
      return outbox.add(user, item).then(function () {
        if (window.kehuVisits && window.kehuVisits.kept) window.kehuVisits.kept(form);
        sheetSays(form, d.tKept);
        askForSync();
        return render();
      }, function () {
        sheetSays(form, d.tNotKept); // IndexedDB refused (private mode, full disk): say so
      });
    }

    // Without signal the tap goes straight to the outbox (capture phase: before htmx).
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.classList || !form.classList.contains("outcome-sheet") || navigator.onLine) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      keep(form, event.submitter);
    }, true);

    // With signal that fails mid-way (no answer, timeout), the same visit, same key, is kept.
    function failed(event) {
      var form = event.detail && event.detail.elt;
      if (!form || !form.classList || !form.classList.contains("outcome-sheet")) return;
      var cfg = event.detail.requestConfig || {};
      var sub = cfg.triggeringEvent && cfg.triggeringEvent.submitter;
      keep(form, sub || null);
    }
    document.addEventListener("htmx:sendError", failed);
    document.addEventListener("htmx:timeout", failed);

    // --- sending ----------------------------------------------------------------------------
    function askForSync() {
      if (!("serviceWorker" in navigator)) return;
      navigator.serviceWorker.ready.then(function (reg) {
        if (reg.sync && reg.sync.register) return reg.sync.register("kehu-outbox");
        return null;
      }).catch(function () {});
    }
    var busy = false;
    function sync() {
      if (busy || !navigator.onLine) return Promise.resolve();
      busy = true;
      return outbox.flush(user, urls).then(function () { busy = false; }, function () { busy = false; });
    }

    // A visit of this page's customer reached the server: show the timeline as stored.
    var refresh = null;
    function stored(detail) {
      var recorder = document.querySelector("[data-visit-recorder]");
      if (!detail || !detail.stored || !recorder || detail.customer_id !== recorder.dataset.customerId) return;
      window.clearTimeout(refresh);
      refresh = window.setTimeout(function () {
        var panel = document.getElementById("visit-panel");
        if (panel && window.htmx) {
          window.htmx.ajax("GET", recorder.dataset.panelUrl, { target: "#visit-panel", swap: "outerHTML" })
            .then(render, render);
        }
      }, 300);
    }
    function onChange(message) {
      if (!message || message.user !== String(user)) return;
      render();
      stored(message.detail);
    }
    window.addEventListener("kehu:outbox", function (e) { onChange(e.detail); });
    if (outbox.channel) outbox.channel.addEventListener("message", function (e) { onChange(e.data); });

    window.addEventListener("online", sync);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) sync(); });
    window.setInterval(function () {
      outbox.list(user).then(function (items) {
        if (items.some(function (i) { return i.state !== "refused"; })) sync();
      });
    }, RETRY_MS);

    document.addEventListener("click", function (event) {
      var t = event.target.closest && event.target.closest("[data-outbox-retry], [data-outbox-discard], [data-outbox-send], #visit-outbox-badge");
      if (!t) return;
      if (t.id === "visit-outbox-badge") {
        var sheet = document.getElementById("visit-offline-outbox");
        sheet.hidden = !sheet.hidden;
        t.setAttribute("aria-expanded", sheet.hidden ? "false" : "true");
        if (!sheet.hidden) sheet.scrollIntoView({ block: "nearest" });
        return;
      }
      if (t.hasAttribute("data-outbox-send")) { sync(); return; }
      var key = t.getAttribute("data-outbox-retry") || t.getAttribute("data-outbox-discard");
      if (t.hasAttribute("data-outbox-discard")) { outbox.remove(user, key); return; }
      outbox.patch(user, key, { state: "waiting", reason: null, message: "" }).then(sync);
    });

    // --- signing out --------------------------------------------------------------------------
    function forget() {
      var gone = [outbox.clear(user), worker({ type: "signout", user: user })];
      if (window.caches) {
        gone.push(caches.keys().then(function (names) {
          return Promise.all(names.filter(function (n) { return /^kehu-pages-/.test(n) && /-u(\d+)$/.exec(n)[1] === String(user); })
            .map(function (n) { return caches.delete(n); }));
        }));
      }
      return Promise.all(gone).catch(function () {});
    }
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.getAttribute || form.getAttribute("action") !== d.logoutUrl || form.dataset.cleared) return;
      event.preventDefault();
      outbox.list(user).then(function (items) {
        if (items.length && !window.confirm(d.tSignOutConfirm.replace("{n}", String(items.length)))) return;
        forget().then(function () {
          form.dataset.cleared = "1";
          form.submit();
        });
      });
    }, true);

    render().then(sync);
  }
})();
