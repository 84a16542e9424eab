// Every request in one place: controls are busy while a request is in flight (so nothing is sent twice),
// a failure (error answer, network down, timeout) says so next to the control and puts its saved value
// back, and focus is never left on <body> after a swap. Ordinary forms also disable their buttons once sent.
(function () {
  "use strict";

  var MESSAGES = {
    network: "No connection to the server, so this was not saved. Check your connection and try again.",
    timeout: "The server took too long to answer, so this may not have been saved. Please try again.",
    server: "Something went wrong on our side, so this was not saved. Please try again.",
    other: "That did not work. Please reload the page and try again."
  };
  var LOADING = "That part of the page could not be loaded. Please try again.";
  var LOADING_OFFLINE = "No connection to the server, so that part of the page could not be loaded. Check your connection and try again.";
  var CHOICES = "select, input[type=checkbox], input[type=radio]";
  var SUBMITS = "button:not([type=button]):not([type=reset]), input[type=submit]";

  // --- Busy while sending -------------------------------------------------------------------

  function submitButtons(form) {
    var buttons = Array.prototype.slice.call(form.querySelectorAll(SUBMITS));
    if (form.id) {
      document.querySelectorAll('[form="' + form.id + '"]').forEach(function (el) {
        if (el.matches(SUBMITS)) buttons.push(el);
      });
    }
    return buttons;
  }

  function controlsToDisable(elt) {
    if (elt.tagName === "FORM") return submitButtons(elt);
    if (elt.matches("button, select, input[type=checkbox], input[type=radio], input[type=submit]")) return [elt];
    return [];
  }

  // What each request in flight disabled, and what had focus when it started (keyed by its XMLHttpRequest:
  // htmx reports a removed element's parent as the event's elt once the swap has replaced it).
  var inFlight = new WeakMap();

  function startBusy(elt, xhr) {
    var focused = document.activeElement;
    var disabled = controlsToDisable(elt).filter(function (el) { return !el.disabled; });
    disabled.forEach(function (el) { el.disabled = true; });
    elt.setAttribute("aria-busy", "true");
    inFlight.set(xhr, { elt: elt, disabled: disabled, focused: focused });
  }

  function endBusy(xhr) {
    var state = inFlight.get(xhr);
    if (!state) return null;
    state.elt.removeAttribute("aria-busy");
    state.disabled.forEach(function (el) { el.disabled = false; });
    // A disabled control drops focus; give it back if it is still on the page and nothing else took it.
    if (state.focused && state.focused.isConnected && focusLost()) state.focused.focus();
    return state;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    clearError(event.detail.elt);
    startBusy(event.detail.elt, event.detail.xhr);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    // Leaving for another page: stay busy until it loads, so nothing is sent twice meanwhile.
    if (xhr && xhr.status && xhr.getResponseHeader("HX-Redirect")) return;
    var state = endBusy(xhr);
    if (state && event.detail.successful) rememberSaved(state.elt);
  });

  // Ordinary (non-htmx) forms: disable the buttons once the browser has taken the form's values,
  // so the pressed button's name and value are still sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    // Only posts: a GET form may start a download and leave the page where it is.
    if (event.defaultPrevented || form.method !== "post" || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    window.setTimeout(function () {
      submitButtons(form).forEach(function (el) { el.disabled = true; });
    }, 0);
  });
  // Coming back to a page from the history cache: its buttons work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form:not([hx-post]):not([hx-get])").forEach(function (form) {
      submitButtons(form).forEach(function (el) { el.disabled = false; });
    });
  });

  // --- Saved values ---------------------------------------------------------------------------

  // A form marked data-draft holds no saved values at all (the rows picked for a bulk action): what the
  // person chose stays after a failure, like text they typed, so trying again is one click.
  function choicesOf(elt) {
    if (elt.matches("form[data-draft]")) return [];
    var list = elt.matches(CHOICES) ? [elt] : [];
    if (elt.tagName === "FORM") {  // form.elements also holds controls tied to it by a form="" attribute
      list = list.concat(Array.prototype.filter.call(elt.elements, function (el) { return el.matches(CHOICES); }));
    }
    return list;
  }

  // The page's markup holds the saved values (selected, checked); after a request succeeds without
  // replacing its controls, what they show now is what the server has.
  function rememberSaved(elt) {
    if (!elt.isConnected) return;
    choicesOf(elt).forEach(function (control) {
      if (control.tagName === "SELECT") {
        Array.prototype.forEach.call(control.options, function (option) { option.defaultSelected = option.selected; });
      } else {
        control.defaultChecked = control.checked;
      }
    });
  }

  function restoreSaved(elt) {
    choicesOf(elt).forEach(function (control) {
      if (control.tagName === "SELECT") {
        var saved = Array.prototype.filter.call(control.options, function (option) { return option.defaultSelected; });
        // A select whose markup marks no option holds no saved value (a new record's "Choose…", a card's
        // "Move to…"): what the person picked is a draft, kept like the text they typed.
        if (saved.length) control.value = saved[0].value;
      } else {
        control.checked = control.defaultChecked;
      }
    });
  }

  // --- Telling the person -----------------------------------------------------------------------

  function messageFor(event) {
    var detail = event.detail;
    var reading = (detail.requestConfig && detail.requestConfig.verb) === "get";
    if (event.type === "htmx:sendError") return reading ? LOADING_OFFLINE : MESSAGES.network;
    if (event.type === "htmx:timeout") return reading ? LOADING : MESSAGES.timeout;
    var xhr = detail.xhr;
    var said = "";
    try {
      var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
      var found = page.querySelector("[data-error-message]");
      said = found ? found.textContent.trim() : "";
    } catch (ignored) { said = ""; }
    if (xhr.status >= 500) return reading ? LOADING : MESSAGES.server;
    return said || MESSAGES.other;
  }

  // The message sits right after the control's form (or the control), inside a row's last cell for rows.
  function anchorFor(elt) {
    var anchor = elt.closest("form") || elt;
    if (!anchor.isConnected) return null;
    return anchor;
  }

  function clearError(elt) {
    var anchor = anchorFor(elt);
    var next = anchor && anchor.nextElementSibling;
    if (next && next.classList.contains("request-error")) next.remove();
  }

  function showError(elt, text) {
    var anchor = anchorFor(elt);
    if (!anchor) return;
    clearError(elt);
    var message = document.createElement("p");
    message.className = "request-error";
    message.setAttribute("role", "alert");
    message.tabIndex = -1;
    message.textContent = text;
    if (anchor.matches("tr, li, tbody, thead, table")) {
      var cell = anchor.matches("tr") ? anchor.lastElementChild : anchor;
      cell.appendChild(message);
    } else {
      anchor.insertAdjacentElement("afterend", message);
    }
    if (focusLost() || document.activeElement === elt) message.focus({ preventScroll: true });
    message.scrollIntoView({ block: "nearest" });
  }

  function failed(event) {
    var state = inFlight.get(event.detail.xhr);
    var elt = state ? state.elt : event.detail.elt;
    restoreSaved(elt);
    // A part that was loading itself is not loading any more: its "Loading…" would contradict the message.
    if (elt.isConnected) elt.querySelectorAll("[data-loading]").forEach(function (note) { note.hidden = true; });
    showError(elt, messageFor(event));
  }

  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:timeout", failed);

  // --- Focus after a swap -----------------------------------------------------------------------

  function focusLost() {
    return !document.activeElement || document.activeElement === document.body;
  }

  var focusBeforeSwap = new WeakMap();

  document.addEventListener("htmx:beforeSwap", function (event) {
    // A control disabled for the request has lost focus already: it is the one that had it.
    var state = inFlight.get(event.detail.xhr);
    var el = focusLost() && state ? state.focused : document.activeElement;
    var target = event.detail.target;
    if (el && el !== document.body && target && target.contains(el)) {
      focusBeforeSwap.set(event.detail.xhr, { targetId: target.id, id: el.id, name: el.getAttribute("name"),
        tag: el.tagName, text: el.tagName === "BUTTON" ? el.textContent.trim() : null });
    }
  });

  function equivalent(root, seen) {
    if (seen.id) {
      var same = document.getElementById(seen.id);
      if (same && root.contains(same)) return same;
    }
    var candidates = root.querySelectorAll(seen.tag.toLowerCase());
    for (var i = 0; i < candidates.length; i++) {
      var el = candidates[i];
      if (seen.name && el.getAttribute("name") === seen.name && !el.disabled) return el;
      if (seen.text && el.textContent.trim() === seen.text && !el.disabled) return el;
    }
    return null;
  }

  function isVisible(el) {
    return !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var seen = focusBeforeSwap.get(event.detail.xhr);
    // Only when the swap took away what had focus: htmx keeps an element with the same id focused,
    // and a refresh elsewhere on the page must not pull focus from the person.
    if (!seen || !focusLost()) return;
    var root = (seen && seen.targetId && document.getElementById(seen.targetId)) || event.detail.elt;
    if (!root || !root.isConnected) return;
    var next = root.querySelector("[autofocus]") || root.querySelector("[role=alert]") ||
               root.querySelector("[data-focus-after-swap]") || (seen && equivalent(root, seen));
    if (!isVisible(next)) {
      next = root;
      if (!root.hasAttribute("tabindex")) root.setAttribute("tabindex", "-1");
    }
    next.focus({ preventScroll: true });
    next.scrollIntoView({ block: "nearest" });
  });
})();
