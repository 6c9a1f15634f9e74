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
