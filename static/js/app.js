// Kehu's small client script: error banners for failed HTMX requests, nothing inline (CSP).
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
})();
