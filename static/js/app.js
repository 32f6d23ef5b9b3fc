// Kehu's small client script, nothing inline (CSP): error banners for failed HTMX requests,
// and feedback in view: after a submit the first error, duplicate warning or edit-conflict
// notice is scrolled into view and focused; a successful save lands at the top with its
// message. The same runs after a full page load (a form posted without HTMX) and after a swap.
(function () {
  "use strict";
  function banner(text) {
    var slot = document.getElementById("error-banner");
    if (!slot) return;
    slot.innerHTML = "";
    var box = document.createElement("div");
    box.className = "banner banner-error";
    box.textContent = text;
    slot.appendChild(box);
    show(slot);
  }
  document.addEventListener("htmx:sendError", function (e) {
    if (e.detail && e.detail.kehuInline) return; // said beside the control (pending.js)
    banner(document.documentElement.lang === "en"
      ? "No connection. Nothing was lost: try again when you have signal."
      : "网络连接失败。内容未丢失，请在有信号时重试。");
  });
  document.addEventListener("htmx:timeout", function (e) {
    if (e.detail && e.detail.kehuInline) return;
    banner(document.documentElement.lang === "en"
      ? "The network is slow. Try again."
      : "网络较慢，请重试。");
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var slot = document.getElementById("error-banner");
    if (slot) slot.innerHTML = "";
  });

  // Notices that stand for the whole form come first; then the first field marked invalid.
  var NOTICES = "#customer-edit-conflict, #customer-duplicate-warning, [data-feedback]";
  var FIELDS = "[aria-invalid=true]";

  function focusable(el) {
    return /^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(el.tagName) || el.hasAttribute("tabindex");
  }

  // Scroll below the sticky top bar and focus; a region gets tabindex=-1 to take focus.
  function show(el) {
    if (!el) return false;
    if (!focusable(el)) el.setAttribute("tabindex", "-1");
    el.focus({ preventScroll: true });
    el.scrollIntoView({ block: "center", inline: "nearest" });
    return true;
  }

  function firstProblem(root) {
    var scope = root && root.querySelector ? root : document;
    return scope.querySelector(NOTICES) || scope.querySelector(FIELDS) ||
      document.querySelector(NOTICES) || document.querySelector(FIELDS);
  }

  // A message queued for the page (a saved form): keep it in view at the top.
  function showSaved() {
    var flash = document.querySelector("#flash .flash");
    window.scrollTo(0, 0);
    var busy = document.activeElement && document.activeElement !== document.body;
    if (flash && !busy) {
      flash.setAttribute("tabindex", "-1");
      flash.focus({ preventScroll: true });
    }
  }

  var submitted = false;
  document.addEventListener("htmx:beforeRequest", function (e) {
    var verb = e.detail.requestConfig && e.detail.requestConfig.verb;
    submitted = verb && verb !== "get";
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail && e.detail.target;
    var status = e.detail && e.detail.xhr ? e.detail.xhr.status : 0;
    if (target === document.body) {
      // A page arrived by HX-Location or a boosted link: start at the top like a page load,
      // unless it shows a problem.
      if (!show(firstProblem(document))) showSaved();
      submitted = false;
      return;
    }
    if (!submitted) return;
    submitted = false;
    // An outerHTML swap replaced the target: its old node is gone, so look at the page.
    if (status >= 400) show(firstProblem(target && target.isConnected ? target : document));
  });

  // The enrolment link: "Copy link", and the system share sheet where the browser has one.
  function armLinks(root) {
    var boxes = (root || document).querySelectorAll ? (root || document).querySelectorAll("[data-link-actions]") : [];
    Array.prototype.forEach.call(boxes, function (box) {
      box.hidden = false;
      var share = box.querySelector("[data-share-link]");
      if (share && typeof navigator.share === "function") share.hidden = false;
    });
  }
  function say(box, text) {
    var status = box && box.querySelector("[data-link-status]");
    if (status) status.textContent = text;
  }
  document.addEventListener("click", function (e) {
    var copy = e.target.closest && e.target.closest("[data-copy-link]");
    var share = e.target.closest && e.target.closest("[data-share-link]");
    var button = copy || share;
    if (!button) return;
    var box = button.closest("[data-link-actions]");
    var field = document.getElementById(button.getAttribute(copy ? "data-copy-link" : "data-share-link"));
    if (!field) return;
    if (share) {
      navigator.share({ title: share.dataset.shareTitle || "", url: field.value }).catch(function () {});
      return;
    }
    function fallback() {
      field.focus();
      field.select();
      var done = false;
      try { done = document.execCommand("copy"); } catch (err) { done = false; }
      say(box, done ? box.dataset.copied : box.dataset.copyFailed);
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(field.value).then(function () { say(box, box.dataset.copied); }, fallback);
    } else {
      fallback();
    }
  });
  document.addEventListener("htmx:load", function (e) { armLinks(e.target); });

  function onLoad() {
    armLinks(document);
    if (!show(firstProblem(document)) && document.querySelector("#flash .flash")) showSaved();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoad);
  else onLoad();
})();
