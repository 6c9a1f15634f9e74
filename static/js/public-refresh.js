/* The public tracking page checks for news while it is open: every data-refresh-every seconds it
   asks for the page again (a conditional GET: 304 when nothing changed), and when the tracking
   region changed it swaps it in place and says so to screen readers. It waits while the tab is
   hidden and stops once the new page no longer asks for refreshing (delivered). No other library:
   this page does not load htmx for one timer. */
(function () {
  "use strict";
  var region = document.getElementById("track-live");
  if (!region || !region.dataset.refreshEvery || !window.fetch || !window.DOMParser) { return; }
  var every = Math.max(30, parseInt(region.dataset.refreshEvery, 10) || 120) * 1000;
  var etag = null;
  var timer = null;

  function schedule() { timer = window.setTimeout(check, every); }

  function announce() {
    var status = document.getElementById("track-updated");
    if (status) { status.textContent = status.dataset.text || ""; }
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("track-live");
    if (!fresh) { return false; }
    if (fresh.innerHTML !== region.innerHTML) {
      if (fresh.querySelector("[data-map]") && typeof window.L === "undefined") {
        // The first scan with a place: this page has no map script yet, the new one has.
        window.location.reload();
        return false;
      }
      region.innerHTML = fresh.innerHTML;
      document.title = new DOMParser().parseFromString(html, "text/html").title || document.title;
      document.dispatchEvent(new CustomEvent("shiptrack:content", { detail: { root: region } }));
      announce();
    }
    if (!fresh.dataset.refreshEvery) { delete region.dataset.refreshEvery; return false; }
    return true;
  }

  function check() {
    if (document.hidden) { schedule(); return; }
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(window.location.href, { headers: headers, credentials: "same-origin", cache: "no-cache" })
      .then(function (response) {
        if (response.status === 304) { return true; }
        if (!response.ok) { return true; }  // try again later; what is shown stays
        etag = response.headers.get("ETag");
        return response.text().then(swap);
      })
      .catch(function () { return true; })
      .then(function (again) { if (again) { schedule(); } });
  }

  schedule();
})();
