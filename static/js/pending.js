// Every HTMX action shows that it is in flight: the tapped control looks pressed at once,
// gets a spinner after ~300 ms and takes no second tap meanwhile. A failure or timeout
// (htmx.config.timeout, set in the base page) is said beside the control, with Retry; a
// retried form is submitted again as it was, so a visit keeps its idempotency key.
(function () {
  "use strict";
  if (window.kehuPending) return;
  window.kehuPending = true;
  var SLOW_MS = 300;

  function say(name, en, zh) {
    var box = document.getElementById("visit-offline");
    var text = box && box.dataset[name];
    return text || (document.documentElement.lang === "en" ? en : zh);
  }

  function submitter(detail) {
    var cfg = detail.requestConfig || {};
    var ev = cfg.triggeringEvent;
    return ev && ev.submitter ? ev.submitter : null;
  }

  // The buttons that must not take a second tap, and the one that shows the spinner.
  function controls(detail) {
    var elt = detail.elt;
    if (!elt || !elt.tagName) return { shown: null, locked: [] };
    if (elt.tagName === "FORM") {
      var buttons = Array.prototype.slice.call(elt.querySelectorAll("button:not([type=button]), input[type=submit]"));
      return { shown: submitter(detail) || buttons[0] || null, locked: buttons };
    }
    if (elt.tagName === "BUTTON" || elt.tagName === "A") return { shown: elt, locked: [elt] };
    return { shown: null, locked: [] }; // a search box or a load trigger: nothing to press
  }

  function start(event) {
    var detail = event.detail || {};
    var elt = detail.elt;
    if (!elt || !elt.setAttribute) return;
    clearMessage(elt);
    var c = controls(detail);
    elt.setAttribute("aria-busy", "true");
    if (c.shown) c.shown.classList.add("is-pending");
    c.locked.forEach(function (b) { if (!b.disabled) { b.disabled = true; b.dataset.pendingLocked = "1"; } });
    elt._kehuPending = {
      controls: c,
      slow: window.setTimeout(function () { if (c.shown) c.shown.classList.add("is-slow"); }, SLOW_MS),
      submitter: submitter(detail)
    };
  }

  function finish(event) {
    var elt = event.detail && event.detail.elt;
    var p = elt && elt._kehuPending;
    if (!p) return;
    window.clearTimeout(p.slow);
    elt.removeAttribute("aria-busy");
    if (p.controls.shown) p.controls.shown.classList.remove("is-pending", "is-slow");
    p.controls.locked.forEach(function (b) {
      if (b.dataset.pendingLocked) { b.disabled = false; delete b.dataset.pendingLocked; }
    });
    elt._kehuPending = null;
    elt._kehuLast = p; // htmx may fire afterRequest before sendError / timeout
    return p;
  }

  function anchor(elt) { return elt.tagName === "FORM" ? elt : elt.closest("form") || elt; }

  function clearMessage(elt) {
    var next = anchor(elt).nextElementSibling;
    if (next && next.hasAttribute("data-request-error")) next.remove();
  }

  function failed(event, timedOut) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.tagName) return;
    var p = finish(event) || elt._kehuLast || {};
    // Visits have their own path (the outbox, static/js/offline.js); nothing else to say.
    if (elt.classList.contains("outcome-sheet")) { event.detail.kehuInline = true; return; }
    if (!p.controls || !p.controls.shown) return; // not a tapped control: the banner says it
    event.detail.kehuInline = true;
    clearMessage(elt);
    var box = document.createElement("p");
    box.className = "request-error";
    box.setAttribute("role", "alert");
    box.setAttribute("data-request-error", "");
    var text = document.createElement("span");
    text.textContent = timedOut
      ? say("tTimeout", "The server did not answer in time: this may not have been saved.", "服务器未及时响应：可能没有保存。")
      : say("tNoConnection", "No connection: this was not saved.", "网络连接失败：没有保存。");
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "small";
    retry.textContent = say("tRetry", "Retry", "重试");
    retry.addEventListener("click", function () {
      box.remove();
      if (elt.tagName === "FORM") {
        if (typeof elt.requestSubmit === "function") elt.requestSubmit(p.submitter || undefined);
        else window.htmx.trigger(elt, "submit");
      } else {
        elt.click();
      }
    });
    box.appendChild(text);
    box.appendChild(document.createTextNode(" "));
    box.appendChild(retry);
    anchor(elt).insertAdjacentElement("afterend", box);
  }

  document.addEventListener("htmx:beforeSend", start);
  document.addEventListener("htmx:afterRequest", finish);
  document.addEventListener("htmx:sendAbort", finish);
  // Capture phase: runs before app.js's banner, which leaves these to the inline message.
  document.addEventListener("htmx:sendError", function (e) { failed(e, false); }, true);
  document.addEventListener("htmx:timeout", function (e) { failed(e, true); }, true);
})();
