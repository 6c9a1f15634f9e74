/* Draws every [data-map] element: numbered markers coloured by status, the route in time order,
   the latest position highlighted, the view fitted to all markers, popups with time/place/text.
   Points come from a json_script element named by data-map; tiles from data-tile-url.
   Popups are built from DOM nodes (textContent), never from HTML strings. */
(function () {
  "use strict";

  function popupContent(group) {
    var box = document.createElement("div");
    box.className = "map-popup";
    group.forEach(function (point) {
      var item = document.createElement("div");
      item.className = "map-popup-item";
      var title = document.createElement("strong");
      title.textContent = point.n + ". " + (point.description || "");
      item.appendChild(title);
      [point.time, point.place].forEach(function (text) {
        if (!text) { return; }
        var line = document.createElement("div");
        line.textContent = text;
        item.appendChild(line);
      });
      box.appendChild(item);
    });
    return box;
  }

  // Scans at the same place (arrived/departed a hub) share one marker: "4-5", popup lists both.
  function groupByPlace(points) {
    var groups = [];
    var byKey = {};
    points.forEach(function (point) {
      var key = point.lat.toFixed(4) + "," + point.lng.toFixed(4);
      if (!byKey[key]) { byKey[key] = []; groups.push(byKey[key]); }
      byKey[key].push(point);
    });
    return groups;
  }

  function draw(el) {
    if (el.dataset.mapReady || typeof L === "undefined") { return; }
    var source = document.getElementById(el.dataset.map);
    if (!source) { return; }
    var points;
    try { points = JSON.parse(source.textContent); } catch (e) { return; }
    if (!Array.isArray(points) || points.length === 0) { return; }
    el.dataset.mapReady = "1";

    var map = L.map(el, { scrollWheelZoom: false, attributionControl: true });
    map.attributionControl.setPrefix("Leaflet");
    if (el.dataset.tileUrl) {
      L.tileLayer(el.dataset.tileUrl, {
        maxZoom: 18,
        attribution: el.dataset.tileAttribution || ""
      }).addTo(map);
    }

    var latlngs = points.map(function (point) { return [point.lat, point.lng]; });
    groupByPlace(points).forEach(function (group) {
      var last = group[group.length - 1];
      var latest = group.some(function (point) { return point.latest; });
      var text = group.length > 1 ? group[0].n + "\u2013" + last.n : String(last.n);
      var size = Math.max(latest ? 34 : 26, 12 + 8 * text.length);
      var icon = L.divIcon({
        className: "map-marker " + (last.css || "status-none") + (latest ? " is-latest" : ""),
        html: "<span>" + text + "</span>",
        iconSize: [size, latest ? 34 : 26]
      });
      var label = group.map(function (point) {
        return point.n + ". " + [point.description, point.place, point.time].filter(Boolean).join(", ");
      }).join("; ");
      if (latest && el.dataset.labelLatest) { label = el.dataset.labelLatest + ": " + label; }
      L.marker([last.lat, last.lng], {
        icon: icon,
        title: label,
        keyboard: true,
        zIndexOffset: latest ? 1000 : 0
      }).bindPopup(popupContent(group)).addTo(map);
    });

    if (latlngs.length > 1) {
      L.polyline(latlngs, { className: "map-route", weight: 3, opacity: 0.8 }).addTo(map);
      map.fitBounds(L.latLngBounds(latlngs), { padding: [30, 30], maxZoom: 11 });
    } else {
      map.setView(latlngs[0], 10);
    }
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-map]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  } else {
    drawAll();
  }
  // A region swapped in by htmx may bring a map with it: htmx.onLoad's event, listened for on the
  // document so it works whichever of the two scripts runs first.
  document.addEventListener("htmx:load", function (event) { drawAll(event.target); });
})();
