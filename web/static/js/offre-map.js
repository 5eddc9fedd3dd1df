/* <offre-map data-clusters="…" data-bounds="w,s,e,n" data-popup="…" data-tiles="…" data-attribution="…">:
   the public map of the whole offer. It opens on the bounds the page gives (the
   deploying département by default), and for each view asks our own endpoint for
   what that view shows at its zoom, grouped by the server (catalogue/map_queries.py):
   {"total", "clusters": [[lon, lat, count, w, s, e, n]], "points": [[lon, lat, id, count]]}.
   A group zooms in when clicked; a place opens its popup, loaded on demand.
   The first drawing leaves the performance mark "offre-map:drawn" (bench/map.py). */
(function () {
  "use strict";
  // Words in the page's language (web/i18n.py), French by default.
  var T = (function () { var e = document.getElementById("textes-js"); try { return e ? JSON.parse(e.textContent) : {}; } catch (x) { return {}; } })();
  var BLANK_ID = "00000000-0000-0000-0000-000000000000";
  var lang = document.documentElement.lang || "fr";
  var number = (function () { try { return new Intl.NumberFormat(lang); } catch (x) { return null; } })();

  function uuid(hex) {
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }
  function escapeHtml(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function clamp(v, lo, hi) { return Math.min(hi, Math.max(lo, v)); }

  function groupIcon(n) {
    var size = n < 10 ? "small" : n < 100 ? "medium" : "large", wide = n >= 1000;
    return L.divIcon({ html: "<div><span>" + escapeHtml(number ? number.format(n) : String(n)) + "</span></div>",
                       className: "marker-cluster marker-cluster-" + size + (wide ? " marker-cluster-wide" : ""),
                       iconSize: L.point(wide ? 56 : 40, 40) });
  }

  function popupHtml(o) {
    var html = '<a href="' + escapeHtml(o.url) + '"><strong>' + escapeHtml(o.nom) + "</strong></a><br>" +
      escapeHtml(o.structure) + (o.commune ? " · " + escapeHtml(o.commune) : "") + "<br><small>" +
      escapeHtml(o.thematiques.join(", ")) + "</small>";
    if (o.meme_lieu && o.meme_lieu.length) {
      html += "<br>" + escapeHtml(T.meme_lieu || "Au même endroit :") + "<ul>" + o.meme_lieu.map(function (m) {
        return '<li><a href="' + escapeHtml(m.url) + '">' + escapeHtml(m.nom) + "</a></li>";
      }).join("") + "</ul>";
    }
    return html;
  }

  class OffreMap extends HTMLElement {
    connectedCallback() {
      if (this._map || !window.L) return;
      var el = this, tiles = el.dataset.tiles;
      var b = (el.dataset.bounds || "-5.2,41.3,9.6,51.1").split(",").map(Number);
      var map = L.map(el, { maxZoom: 18 });
      this._map = map;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { animate: false });
      if (tiles) L.tileLayer(tiles, { maxZoom: 18, attribution: el.dataset.attribution || "" }).addTo(map);
      L.control.scale({ imperial: false }).addTo(map);
      if (el.dataset.base && window.offreDrawBase) window.offreDrawBase(map, el.dataset.base);
      var layer = L.layerGroup().addTo(map);
      var popupUrl = el.dataset.popup, pending = null, drawn = false, failed = false;

      function openPlace(marker, id) {
        marker.bindPopup(T.chargement || "Chargement…").openPopup();
        fetch(popupUrl.replace(BLANK_ID, uuid(id)))
          .then(function (r) { return r.json(); })
          .then(function (o) { marker.setPopupContent(popupHtml(o)); });
      }
      function zoomInto(c) {
        var bounds = L.latLngBounds([c[4], c[3]], [c[6], c[5]]);
        var zoom = Math.min(18, Math.max(map.getZoom() + 1, map.getBoundsZoom(bounds)));
        map.setView(bounds.getCenter(), zoom);
      }
      function draw(data) {
        layer.clearLayers();
        data.clusters.forEach(function (c) {
          var m = L.marker([c[1], c[0]], { icon: groupIcon(c[2]) });
          m.on("click", function () { zoomInto(c); });
          layer.addLayer(m);
        });
        data.points.forEach(function (p) {
          var m = L.marker([p[1], p[0]]);
          m.on("click", function () { openPlace(m, p[2]); });
          layer.addLayer(m);
        });
        el.setAttribute("data-count", String(data.total));
        if (!drawn) {
          drawn = true;
          if (window.performance && performance.mark) performance.mark("offre-map:drawn");
        }
        el.dispatchEvent(new CustomEvent("offre-map:loaded", { detail: { count: data.total } }));
      }
      function fail(e) {
        if ((e && e.name === "AbortError") || failed) return;
        failed = true;
        var p = document.createElement("p");
        p.textContent = T.carte_erreur || "Les points de la carte n'ont pas pu être chargés ; utilisez la liste par commune.";
        el.after(p);
      }
      function load() {
        var v = map.getBounds(), r = function (x) { return x.toFixed(4); };
        var box = [clamp(v.getWest(), -180, 179.9), clamp(v.getSouth(), -85, 85), clamp(v.getEast(), -179.9, 180),
                   clamp(v.getNorth(), -85, 85)];
        if (box[0] >= box[2] || box[1] >= box[3]) return;
        if (pending) pending.abort();
        pending = window.AbortController ? new AbortController() : null;
        var url = el.dataset.clusters + (el.dataset.clusters.indexOf("?") < 0 ? "?" : "&") +
          "zoom=" + map.getZoom() + "&bbox=" + box.map(r).join(",");
        fetch(url, { headers: { Accept: "application/json" }, signal: pending ? pending.signal : undefined })
          .then(function (resp) { if (!resp.ok) throw new Error(String(resp.status)); return resp.json(); })
          .then(draw)
          .catch(fail);
      }
      map.on("moveend", load);
      load();
    }
  }
  if (!customElements.get("offre-map")) customElements.define("offre-map", OffreMap);
})();
