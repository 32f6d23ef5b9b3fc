// Passkey ceremonies for Kehu: sign-in (button and autofill), enrolment, adding a passkey.
// No inline script (CSP script-src 'self'); the server's messages arrive as JSON {"error": ...}
// and are shown as plain words in the page's role=alert element, never raw. Every URL comes
// from the page (data-options-url, data-verify-url) or the server's answer ({"redirect": ...}).
(function () {
  "use strict";

  var RENEW_MS = 4 * 60 * 1000; // challenges expire after 5 minutes on the server

  function b64uToBuf(text) {
    var s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function messages() {
    var node = document.getElementById("passkey-js-messages");
    return node ? node.dataset : {};
  }

  function showError(text) {
    var slot = document.getElementById("passkey-error");
    if (slot) slot.textContent = text || "";
  }

  function friendly(err) {
    var m = messages();
    if (!err) return m.failed;
    if (err.userMessage) return err.userMessage;
    if (err.name === "NotAllowedError" || err.name === "AbortError") return m.cancelled;
    if (err.name === "InvalidStateError") return m.exists;
    if (err.name === "NotSupportedError" || err.name === "SecurityError") return m.unsupported;
    if (err instanceof TypeError) return m.network;
    return m.failed;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      var type = response.headers.get("content-type") || "";
      if (type.indexOf("application/json") === -1) {
        var e = new Error("not json");
        e.userMessage = messages().failed;
        throw e;
      }
      return response.json().then(function (data) {
        if (!response.ok || data.error) {
          var e = new Error("refused");
          e.userMessage = typeof data.error === "string" ? data.error : messages().failed;
          throw e;
        }
        return data;
      });
    });
  }

  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: b64uToBuf(c.id) }); });
  }

  function creationOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = b64uToBuf(json.challenge);
    o.user = Object.assign({}, json.user, { id: b64uToBuf(json.user.id) });
    o.excludeCredentials = withIds(json.excludeCredentials);
    return o;
  }

  function requestOptions(json) {
    var o = Object.assign({}, json);
    o.challenge = b64uToBuf(json.challenge);
    o.allowCredentials = withIds(json.allowCredentials);
    return o;
  }

  function extensions(cred) {
    try { return cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}; }
    catch (e) { return {}; }
  }

  // A credential as JSON for the server: the common fields and the ceremony's own response.
  function credentialJSON(cred, response) {
    return {
      id: cred.id,
      rawId: bufToB64u(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: extensions(cred),
      response: Object.assign({ clientDataJSON: bufToB64u(cred.response.clientDataJSON) }, response)
    };
  }

  function registrationJSON(cred) {
    var r = cred.response;
    return credentialJSON(cred, {
      attestationObject: bufToB64u(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : []
    });
  }

  function assertionJSON(cred) {
    var r = cred.response;
    return credentialJSON(cred, {
      authenticatorData: bufToB64u(r.authenticatorData),
      signature: bufToB64u(r.signature),
      userHandle: r.userHandle ? bufToB64u(r.userHandle) : null
    });
  }

  // After a ceremony the server says where to go; without an answer, show this page afresh.
  function go(result) {
    if (result && typeof result.redirect === "string") window.location.assign(result.redirect);
    else window.location.reload();
  }

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
  }

  function busy(button, on) {
    button.disabled = on;
    button.setAttribute("aria-busy", on ? "true" : "false");
    if (on) {
      button.dataset.label = button.textContent;
      button.textContent = messages().busy || button.textContent;
    } else if (button.dataset.label) {
      button.textContent = button.dataset.label;
    }
  }

  // Enrolment and "Add passkey": one registration ceremony.
  function setUpRegistration(button) {
    button.addEventListener("click", function () {
      showError("");
      if (!supported()) { showError(messages().unsupported); return; }
      busy(button, true);
      post(button.dataset.optionsUrl, button.dataset.csrf)
        .then(function (options) {
          return navigator.credentials.create({ publicKey: creationOptions(options) });
        })
        .then(function (cred) {
          return post(button.dataset.verifyUrl, button.dataset.csrf, { credential: registrationJSON(cred) });
        })
        .then(function (result) { go(result); })
        .catch(function (err) { busy(button, false); showError(friendly(err)); });
    });
  }

  // Sign-in: the button (modal) and, where supported, passkey autofill (conditional mediation).
  function setUpSignIn(button) {
    var csrf = button.dataset.csrf;
    var pending = null; // {controller, promise} of the conditional request
    var renewTimer = null;

    function finish(cred) {
      return post(button.dataset.verifyUrl, csrf, {
        credential: assertionJSON(cred),
        next: button.dataset.next || null
      }).then(function (result) { go(result); });
    }

    function stopConditional() {
      if (renewTimer) { clearTimeout(renewTimer); renewTimer = null; }
      if (!pending) return Promise.resolve();
      var p = pending;
      pending = null;
      p.controller.abort();
      return p.promise.catch(function () {});
    }

    function startConditional() {
      var controller = new AbortController();
      var promise = post(button.dataset.optionsUrl, csrf)
        .then(function (options) {
          return navigator.credentials.get({
            publicKey: requestOptions(options),
            mediation: "conditional",
            signal: controller.signal
          });
        });
      pending = { controller: controller, promise: promise };
      renewTimer = setTimeout(function () {
        stopConditional().then(startConditional);
      }, RENEW_MS);
      var chosen = false;
      promise
        .then(function (cred) {
          if (controller.signal.aborted || !cred) return;
          chosen = true;
          if (renewTimer) { clearTimeout(renewTimer); renewTimer = null; }
          pending = null;
          busy(button, true);
          return finish(cred);
        })
        .catch(function (err) {
          if (controller.signal.aborted || (err && err.name === "AbortError")) return;
          busy(button, false);
          if (pending && pending.controller === controller) {
            clearTimeout(renewTimer);
            renewTimer = null;
            pending = null;
          }
          // Autofill stays quiet unless the person picked a passkey; then say what went wrong
          // and offer autofill again (never in a loop: a refused options request ends it).
          if (chosen) {
            showError(friendly(err));
            startConditional();
          }
        });
    }

    button.addEventListener("click", function () {
      showError("");
      if (!supported()) { showError(messages().unsupported); return; }
      busy(button, true);
      stopConditional()
        .then(function () { return post(button.dataset.optionsUrl, csrf); })
        .then(function (options) {
          return navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(finish)
        .catch(function (err) { busy(button, false); showError(friendly(err)); });
    });

    if (supported() && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        var field = document.getElementById("passkey-autofill");
        if (field) field.hidden = false;
        startConditional();
      }).catch(function () {});
    }
  }

  function init() {
    var signIn = document.querySelector("[data-passkey=signin]");
    if (signIn) setUpSignIn(signIn);
    var buttons = document.querySelectorAll("[data-passkey=register]");
    for (var i = 0; i < buttons.length; i++) setUpRegistration(buttons[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
