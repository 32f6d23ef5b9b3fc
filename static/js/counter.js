// Counter lookup: arrow keys move through results, Enter opens one; a keypad toggle for touch.
(function () {
  "use strict";
  var input = document.getElementById("counter-q");
  if (!input) return;
  var toggle = document.getElementById("keyboard-toggle");

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
  function select(index) {
    var opts = options();
    if (!opts.length) return;
    index = Math.max(0, Math.min(opts.length - 1, index));
    opts.forEach(function (o, i) { o.setAttribute("aria-selected", i === index ? "true" : "false"); });
    input.setAttribute("aria-activedescendant", opts[index].id);
    opts[index].scrollIntoView({ block: "nearest" });
  }
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") { e.preventDefault(); select(current() + 1); }
    else if (e.key === "ArrowUp") { e.preventDefault(); select(current() - 1); }
    else if (e.key === "Enter") {
      var opts = options();
      var i = current();
      if (i >= 0 && opts[i]) {
        e.preventDefault();
        window.location.assign(opts[i].querySelector("a").getAttribute("href"));
      }
    } else if (e.key === "Escape") { input.value = ""; input.dispatchEvent(new Event("input")); }
  });
  document.body.addEventListener("htmx:afterSwap", function (e) {
    if (e.target && e.target.id === "counter-results") {
      var opts = options();
      input.setAttribute("aria-expanded", opts.length ? "true" : "false");
      if (opts.length) input.setAttribute("aria-activedescendant", opts[0].id);
      else input.removeAttribute("aria-activedescendant");
    }
  });
  if (toggle) {
    toggle.addEventListener("click", function () {
      var text = input.getAttribute("inputmode") === "numeric";
      input.setAttribute("inputmode", text ? "text" : "numeric");
      toggle.setAttribute("aria-pressed", text ? "true" : "false");
      toggle.textContent = text ? toggle.dataset.labelDigits : toggle.dataset.labelText;
      input.blur();
      input.focus();
    });
  }
  // Digits typed anywhere on the page go to the lookup (a keyboard at the counter).
  if (document.activeElement !== input) input.focus();
})();
