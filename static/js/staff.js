/* Staff pages: the "Copy" button next to a tracking number. Delegated from the document so that
   buttons swapped in by htmx work too. Without the clipboard API the number is selected instead,
   ready for Ctrl+C. */
(function () {
  "use strict";

  function announce(button, text) {
    var status = button.parentElement && button.parentElement.querySelector(".copy-status");
    if (status) { status.textContent = text; }
    var original = button.dataset.originalText || button.textContent;
    button.dataset.originalText = original;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = original; }, 1500);
  }

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // The button only works with JavaScript, so it is shown only then.
  function reveal(root) {
    (root || document).querySelectorAll("[data-copy-target][hidden]").forEach(function (b) {
      b.hidden = false;
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { reveal(); });
  } else {
    reveal();
  }
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copyTarget);
    if (!source) { return; }
    var text = source.textContent.trim();
    var done = function () { announce(button, button.dataset.copiedText || "Copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
    } else {
      selectText(source);
    }
  });
})();

/* The list's search box always shows the query the results are for: after Back/Forward (htmx
   restores a snapshot whose input kept its typed value, not the URL's) it is set from the URL. */
(function () {
  "use strict";
  function syncSearchBox() {
    var box = document.getElementById("id_q");
    if (!box) { return; }
    var q = new URLSearchParams(window.location.search).get("q") || "";
    if (box.value !== q) { box.value = q; }
  }
  document.addEventListener("htmx:historyRestore", syncSearchBox);
  window.addEventListener("popstate", function () { window.setTimeout(syncSearchBox, 0); });
  window.addEventListener("pageshow", syncSearchBox);
})();

/* After "Refresh now" swaps the shipment's region in, focus moves to what changed (the result
   line, else the heading), so keyboard and screen-reader users are not sent back to the top. */
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail && event.detail.requestConfig;
    if (!config || !/\/refresh\/$/.test(config.path || "")) { return; }
    var region = document.getElementById("tracking");
    if (!region) { return; }
    var target = region.querySelector(".refresh-result") || region.querySelector("h1");
    if (!target) { return; }
    target.setAttribute("tabindex", "-1");
    target.focus();
  });
})();

/* The list's URL carries only the filters in use: empty fields are left out of htmx requests
   (and so of the address bar), as the server-built links already do. */
document.addEventListener("htmx:configRequest", function (event) {
  "use strict";
  var params = event.detail.parameters;
  if (!params || event.detail.verb !== "get") { return; }
  Object.keys(params).forEach(function (key) {
    if (params[key] === "") { delete params[key]; }
  });
});

/* The list from the keyboard: "/" focuses the search box; j/k or the arrow keys move through the
   results (from the search box, ArrowDown enters them); Enter opens the focused one (a link).
   Keys typed into a field are left alone, except ArrowDown in the search box. */
(function () {
  "use strict";
  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("#results a.row-link"));
  }
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var box = document.getElementById("id_q");
    var active = document.activeElement;
    if (!box) { return; }
    if (event.key === "/" && !typing(active)) {
      event.preventDefault();
      box.focus();
      box.select();
      return;
    }
    var links = rowLinks();
    if (!links.length) { return; }
    var index = links.indexOf(active);
    var down = event.key === "j" || event.key === "ArrowDown";
    var up = event.key === "k" || event.key === "ArrowUp";
    if (active === box && event.key === "ArrowDown") {
      event.preventDefault();
      links[0].focus();
      return;
    }
    if (typing(active) || (!down && !up)) { return; }
    if (index === -1) {
      if (!down) { return; }
      event.preventDefault();
      links[0].focus();
      return;
    }
    event.preventDefault();
    if (down && index < links.length - 1) { links[index + 1].focus(); }
    if (up) { if (index > 0) { links[index - 1].focus(); } else { box.focus(); } }
  });
})();

/* Compact rows: a per-browser choice (localStorage), shown only with JavaScript. */
(function () {
  "use strict";
  var KEY = "shiptrack.density";
  function apply() {
    var compact = window.localStorage && window.localStorage.getItem(KEY) === "compact";
    document.querySelectorAll(".shipment-table").forEach(function (t) {
      t.classList.toggle("is-compact", !!compact);
    });
    document.querySelectorAll(".density-toggle").forEach(function (b) {
      b.hidden = false;
      b.setAttribute("aria-pressed", compact ? "true" : "false");
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".density-toggle");
    if (!button) { return; }
    var compact = button.getAttribute("aria-pressed") !== "true";
    window.localStorage.setItem(KEY, compact ? "compact" : "comfortable");
    apply();
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", apply);
  } else {
    apply();
  }
  document.addEventListener("htmx:load", apply);
})();

/* Notes: after a note is saved (the region comes back saying so), the kept text box
   (hx-preserve, so a refresh never loses a half-typed note) is emptied. */
document.addEventListener("htmx:afterSettle", function (event) {
  "use strict";
  var config = event.detail && event.detail.requestConfig;
  if (!config || !/\/notes\/$/.test(config.path || "")) { return; }
  var region = document.getElementById("notes");
  var box = document.getElementById("id_note_body");
  if (region && box && region.querySelector(".note-saved")) { box.value = ""; }
});

/* Controls that sit inside the list's filter form but belong to another form (the row boxes and
   the note of the bulk actions, the saved search's name) must not start a search when they
   change; the bar says how many rows are selected. */
document.addEventListener("change", function (event) {
  "use strict";
  var el = event.target;
  if (!el || !el.form || el.form.id === "shipment-filters" || !el.closest("#shipment-filters")) { return; }
  event.stopPropagation();
  var count = document.getElementById("bulk-count");
  if (count && el.classList.contains("row-select")) {
    var n = document.querySelectorAll("input.row-select:checked").length;
    count.textContent = n ? n + " " + count.dataset.selected : count.dataset.empty;
  }
}, true);
