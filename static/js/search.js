// Header search: hide the results under the box on Escape, on a click elsewhere, or when empty.
(function () {
  "use strict";
  function results() { return document.getElementById("customer-search-results"); }
  function input() { return document.getElementById("site-search"); }
  function hide() { var r = results(); if (r) r.hidden = true; }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && results() && !results().hidden) {
      hide();
      if (input()) input().focus();
    }
  });
  document.addEventListener("click", function (e) {
    var form = input() && input().form;
    if (form && !form.contains(e.target)) hide();
  });
  document.addEventListener("focusin", function (e) {
    var r = results();
    if (e.target === input() && r && r.childElementCount && input().value.trim()) r.hidden = false;
  });
  document.addEventListener("htmx:beforeRequest", function (e) {
    // An emptied box asks for nothing: just close the list.
    if (e.target === input() && !input().value.trim()) { e.preventDefault(); hide(); }
  });
})();
