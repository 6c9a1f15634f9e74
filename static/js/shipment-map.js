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
    var placed = groupByPlace(points).map(function (group) {
      var last = group[group.length - 1];
      var latest = group.some(function (point) { return point.latest; });
      var text = group.length > 1 ? group[0].n + "\u2013" + last.n : String(last.n);
      var height = latest ? 34 : 26;
      var width = Math.max(height, 12 + 8 * text.length);
      var label = group.map(function (point) {
        return point.n + ". " + [point.description, point.place, point.time].filter(Boolean).join(", ");
      }).join("; ");
      if (latest && el.dataset.labelLatest) { label = el.dataset.labelLatest + ": " + label; }
      var item = {
        latlng: L.latLng(last.lat, last.lng),
        className: "map-marker " + (last.css || "status-none") + (latest ? " is-latest" : ""),
        html: "<span>" + text + "</span>",
        w: width,
        h: height,
        latest: latest
      };
      item.marker = L.marker(item.latlng, {
        icon: icon(item, 0, 0),
        title: label,
        keyboard: true,
        zIndexOffset: latest ? 1000 : 0
      }).bindPopup(popupContent(group)).addTo(map);
      return item;
    });

    if (latlngs.length > 1) {
      L.polyline(latlngs, { className: "map-route", weight: 3, opacity: 0.8 }).addTo(map);
      map.fitBounds(L.latLngBounds(latlngs), { padding: [30, 30], maxZoom: 11 });
    } else {
      map.setView(latlngs[0], 10);
    }
    spread(map, placed);
    map.on("zoomend", function () { spread(map, placed); });
  }

  function icon(item, dx, dy) {
    return L.divIcon({
      className: item.className,
      html: item.html,
      iconSize: [item.w, item.h],
      iconAnchor: [item.w / 2 - dx, item.h / 2 - dy]
    });
  }

  // Markers of nearby places would cover each other at this zoom: the latest stays on its
  // place, each other one moves around its place, just clear of the ones already placed.
  function spread(map, placed) {
    var taken = [];
    var order = placed.filter(function (i) { return i.latest; })
      .concat(placed.filter(function (i) { return !i.latest; }).reverse());
    order.forEach(function (item) {
      var at = map.latLngToLayerPoint(item.latlng);
      var dx = 0;
      var dy = 0;
      var overlaps = function () {
        return taken.some(function (t) {
          return Math.abs(t.x - (at.x + dx)) < (t.w + item.w) / 2 + 2 &&
            Math.abs(t.y - (at.y + dy)) < (t.h + item.h) / 2 + 2;
        });
      };
      for (var tries = 1; tries <= 24 && overlaps(); tries++) {
        var angle = tries * Math.PI / 4;
        var radius = item.h * Math.ceil(tries / 8);
        dx = Math.round(Math.cos(angle) * radius);
        dy = Math.round(Math.sin(angle) * radius);
      }
      taken.push({ x: at.x + dx, y: at.y + dy, w: item.w, h: item.h });
      item.marker.setIcon(icon(item, dx, dy));
    });
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
  // The public page swaps its region in without htmx (js/public-refresh.js).
  document.addEventListener("shiptrack:content", function (event) { drawAll(event.detail.root); });
})();
