// Visits in two taps. "Record visit" reveals the outcome buttons already in the page (no
// network), starts a 3-second location attempt and prepares an idempotency key; tapping an
// outcome posts with whatever location is known by then. Undo fades after its time.
// Loaded once by the base page for every page; event delegation, so a customer page that
// arrives by an HTMX swap works like one loaded in full. offline.js uses window.kehuVisits.
(function () {
  "use strict";
  if (window.kehuVisits) return;

  function uuid() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function setField(form, name, value) {
    var el = form.elements[name];
    if (el) el.value = value === null || value === undefined ? "" : String(value);
  }

  // The latest position of this page view; never waited for.
  var fix = null;

  function locate(recorder, sheet) {
    var status = recorder.querySelector("[data-geo-status]");
    function say(text) { if (status) status.textContent = text || ""; }
    if (!navigator.geolocation) { say(recorder.dataset.geoNone); return; }
    if (!fix) say(recorder.dataset.geoLocating);
    try {
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          fix = {
            lat: pos.coords.latitude,
            lng: pos.coords.longitude,
            accuracy: pos.coords.accuracy,
            at: new Date(pos.timestamp || Date.now()).toISOString()
          };
          fill(sheet);
          say((recorder.dataset.geoFound || "").replace("%(m)s", String(Math.round(fix.accuracy))));
        },
        function () { if (!fix) say(recorder.dataset.geoNone); },
        { enableHighAccuracy: true, timeout: 3000, maximumAge: 60000 }
      );
    } catch (err) {
      say(recorder.dataset.geoNone);
    }
  }

  function fill(sheet) {
    setField(sheet, "lat", fix ? fix.lat : "");
    setField(sheet, "lng", fix ? fix.lng : "");
    setField(sheet, "accuracy", fix ? fix.accuracy : "");
    setField(sheet, "fix_at", fix ? fix.at : "");
  }

  function parts(el) {
    var recorder = el.closest("[data-visit-recorder]");
    if (!recorder) return null;
    return {
      recorder: recorder,
      sheet: recorder.querySelector(".outcome-sheet"),
      button: recorder.querySelector("[data-visit-open]")
    };
  }

  function open(p) {
    // A key that reached the server is never reused; one whose request failed is, so a
    // retry after a network error cannot store the visit twice.
    if (!p.sheet.dataset.key || p.sheet.dataset.keyUsed === "1") {
      p.sheet.dataset.key = uuid();
      p.sheet.dataset.keyUsed = "";
    }
    setField(p.sheet, "idempotency_key", p.sheet.dataset.key);
    p.sheet.hidden = false;
    p.button.setAttribute("aria-expanded", "true");
    p.recorder.classList.add("open");
    locate(p.recorder, p.sheet);
  }

  function close(p) {
    p.sheet.hidden = true;
    p.button.setAttribute("aria-expanded", "false");
    p.recorder.classList.remove("open");
  }

  function stamp(form) {
    setField(form, "device_at", new Date().toISOString());
    fill(form);
  }

  window.kehuVisits = {
    // The device time and the latest location, written into the outcome form.
    stamp: stamp,
    // The outbox took the visit (offline.js): the key is spent, the sheet closes.
    kept: function (form) {
      form.dataset.keyUsed = "1";
      var p = parts(form);
      if (p) close(p);
    }
  };

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-visit-open]");
    if (!button) return;
    var p = parts(button);
    if (!p || !p.sheet) return;
    event.preventDefault();
    if (p.sheet.hidden) open(p);
    else close(p);
  });

  // Runs before htmx collects the form (capture phase): device time and location.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("outcome-sheet")) return;
    stamp(form);
  }, true);

  // A saved visit is prepended to the list: drop the "No visits yet" line, an older copy
  // of the same visit (a replayed key answers with the same one) and the old highlight.
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail && event.detail.target;
    if (!list || list.id !== "visit-list") return;
    var timeline = list.closest(".visit-timeline");
    var empty = timeline && timeline.querySelector("[data-visits-empty]");
    if (empty) empty.remove();
    var seen = {};
    Array.prototype.slice.call(list.children).forEach(function (item, index) {
      if (seen[item.id]) { item.remove(); return; }
      seen[item.id] = true;
      if (index > 0) item.classList.remove("fresh");
    });
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail && event.detail.elt;
    if (!form || !form.classList || !form.classList.contains("outcome-sheet")) return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.status > 0) form.dataset.keyUsed = "1"; // the server has answered
    if (event.detail.successful) {
      var p = parts(form);
      if (p) close(p);
    }
  });

  function arm(root) {
    if (!root || !root.querySelectorAll) return;
    var forms = root.querySelectorAll("[data-undo-seconds]");
    Array.prototype.forEach.call(forms, function (form) {
      if (form.dataset.armed) return;
      form.dataset.armed = "1";
      var ms = Math.max(0, parseFloat(form.dataset.undoSeconds) * 1000 || 0);
      window.setTimeout(function () {
        form.classList.add("gone");
        window.setTimeout(function () { form.remove(); }, 300);
      }, ms);
    });
    var focus = root.querySelector("[data-autofocus]");
    if (focus) {
      focus.removeAttribute("data-autofocus");
      focus.focus({ preventScroll: true });
    }
  }

  document.addEventListener("htmx:load", function (event) { arm(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { arm(document.body); });
  } else {
    arm(document.body);
  }
})();
