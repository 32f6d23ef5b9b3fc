// The Counter with a keyboard: the lookup (arrow keys move through results, Enter opens one,
// a keypad toggle for touch); on a customer, focus on "Record visit", number keys 1-9 pick an
// outcome, and after the visit (or its amount) is saved focus returns to the lookup.
// Loaded on every page (base.html) and bound by event delegation, so a page that arrives by an
// HTMX swap behaves like one that was loaded in full.
(function () {
  "use strict";
  if (window.kehuCounter) return;
  window.kehuCounter = true;

  function lookup() { return document.getElementById("counter-q"); }
  function onCustomer() { return document.querySelector("[data-counter-customer]"); }
  function options() {
    return Array.prototype.slice.call(document.querySelectorAll("#counter-results [role=option]"));
  }
  function current() {
    var opts = options();
    for (var i = 0; i < opts.length; i++) {
      if (opts[i].getAttribute("aria-selected") === "true") return i;
    }
    return opts.length ? 0 : -1;
  }
  function select(input, index) {
    var opts = options();
    if (!opts.length) return;
    index = Math.max(0, Math.min(opts.length - 1, index));
    opts.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", opts[index].id);
    opts[index].scrollIntoView({ block: "nearest" });
  }
  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function focusLookup() {
    var input = lookup();
    if (!input) return;
    input.value = "";
    input.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  function outcomeSheet() {
    var sheet = document.querySelector("[data-counter-customer] .outcome-sheet");
    return sheet && !sheet.hidden ? sheet : null;
  }

  // The lookup field's own keys.
  document.addEventListener("keydown", function (e) {
    var input = lookup();
    if (!input || e.target !== input) return;
    if (e.key === "ArrowDown") { e.preventDefault(); select(input, current() + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); select(input, current() - 1); }
    else if (e.key === "Enter") {
      var opts = options();
      var i = current();
      if (i >= 0 && opts[i]) {
        e.preventDefault();
        window.location.assign(opts[i].querySelector("a").getAttribute("href"));
      }
    } else if (e.key === "Escape") { input.value = ""; input.dispatchEvent(new Event("input")); }
  });

  // On a customer at the counter: 1-9 pick an outcome of the open sheet; other digits typed
  // outside a field start the next lookup.
  document.addEventListener("keydown", function (e) {
    if (!onCustomer() || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (!/^[0-9]$/.test(e.key)) return;
    var sheet = outcomeSheet();
    if (sheet && e.key !== "0") {
      var buttons = sheet.querySelectorAll("button[name=outcome]");
      var button = buttons[Number(e.key) - 1];
      if (button) { e.preventDefault(); button.click(); }
      return;
    }
    var input = lookup();
    if (input) input.focus({ preventScroll: true }); // the digit lands in the lookup
  });

  document.addEventListener("click", function (e) {
    var toggle = e.target.closest && e.target.closest("#keyboard-toggle");
    var input = lookup();
    if (!toggle || !input) return;
    var text = input.getAttribute("inputmode") === "numeric";
    input.setAttribute("inputmode", text ? "text" : "numeric");
    toggle.setAttribute("aria-pressed", text ? "true" : "false");
    toggle.textContent = text ? toggle.dataset.labelDigits : toggle.dataset.labelText;
    input.blur();
    input.focus();
  });

  // What the server answered decides where focus goes once the new content has settled.
  var next = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    var ok = e.detail.xhr && e.detail.xhr.status === 200;
    if (!onCustomer() || !ok || !elt || !elt.classList) return;
    if (elt.classList.contains("outcome-sheet")) next = "visit";
    else if (elt.classList.contains("amount-form")) next = "lookup";
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail && e.detail.target;
    if (target && target.id === "counter-results") {
      var input = lookup();
      var opts = options();
      if (input) {
        input.setAttribute("aria-expanded", opts.length ? "true" : "false");
        if (opts.length) input.setAttribute("aria-activedescendant", opts[0].id);
        else input.removeAttribute("aria-activedescendant");
      }
    }
    var step = next;
    next = null;
    if (step === "visit") {
      // A purchase asks for its amount (visits.js focuses it); any other visit is done.
      var amount = document.querySelector("#visit-list > li:first-child .amount-form input[name=amount]");
      if (amount) amount.focus({ preventScroll: false });
      else focusLookup();
    } else if (step === "lookup") {
      var invalid = document.querySelector("#visit-list [aria-invalid=true]");
      if (!invalid) focusLookup();
    }
  });

  // Where focus starts: the lookup on the Counter, "Record visit" on a customer.
  function start(root) {
    if (!root || !root.querySelector) return;
    var customer = root.matches && root.matches("[data-counter-customer]") ? root : root.querySelector("[data-counter-customer]");
    if (customer) {
      var record = customer.querySelector("[data-visit-open]");
      if (record && !document.querySelector("[aria-invalid=true]")) record.focus({ preventScroll: true });
      return;
    }
    var input = root.querySelector("#counter-q[autofocus]");
    if (input && document.activeElement !== input) input.focus();
  }
  document.addEventListener("htmx:load", function (e) { start(e.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { start(document.body); });
  } else {
    start(document.body);
  }
})();
