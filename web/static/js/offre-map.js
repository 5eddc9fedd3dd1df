/* <offre-map data-points="…" data-popup="…" data-tiles="…" data-attribution="…">:
   the public map of the whole offer. Points come once as compact JSON from our own
   endpoint ({"fields": ["lon","lat","id"], "points": [[lon, lat, id], …]}), are
   clustered by leaflet.markercluster, and each popup loads its offer on demand. */
(function () {
  "use strict";
  // Words in the page's language (web/i18n.py), French by default.
  var T = (function () { var e = document.getElementById("textes-js"); try { return e ? JSON.parse(e.textContent) : {}; } catch (x) { return {}; } })();
  var BLANK_ID = "00000000-0000-0000-0000-000000000000";

  function uuid(hex) {
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }
  function escapeHtml(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  class OffreMap extends HTMLElement {
    connectedCallback() {
      if (this._map || !window.L) return;
      var el = this, tiles = el.dataset.tiles;
      var map = L.map(el, { maxZoom: 18, center: [46.6, 2.35], zoom: 6 });
      this._map = map;
      if (tiles) L.tileLayer(tiles, { maxZoom: 18, attribution: el.dataset.attribution || "" }).addTo(map);
      L.control.scale({ imperial: false }).addTo(map);
      if (el.dataset.base && window.offreDrawBase) window.offreDrawBase(map, el.dataset.base);
      var cluster = L.markerClusterGroup({ chunkedLoading: true, maxClusterRadius: 60 });
      map.addLayer(cluster);
      var popupUrl = el.dataset.popup;
      fetch(el.dataset.points, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          var markers = data.points.map(function (p) {
            var m = L.marker([p[1], p[0]], { keyboard: false });
            m._offreId = uuid(p[2]);
            return m;
          });
          // Fit first (bounds from the raw points), then cluster at the final zoom.
          if (markers.length) {
            map.fitBounds(L.latLngBounds(data.points.map(function (p) { return [p[1], p[0]]; })),
                          { maxZoom: 13, animate: false });
          }
          cluster.addLayers(markers);
          el.setAttribute("data-count", String(markers.length));
          el.dispatchEvent(new CustomEvent("offre-map:loaded", { detail: { count: markers.length } }));
        })
        .catch(function () {
          var p = document.createElement("p");
          p.textContent = T.carte_erreur || "Les points de la carte n'ont pas pu être chargés ; utilisez la liste par commune.";
          el.after(p);
        });
      cluster.on("click", function (e) {
        var marker = e.layer;
        marker.bindPopup(T.chargement || "Chargement…").openPopup();
        fetch(popupUrl.replace(BLANK_ID, marker._offreId))
          .then(function (r) { return r.json(); })
          .then(function (o) {
            marker.setPopupContent(
              '<a href="' + escapeHtml(o.url) + '"><strong>' + escapeHtml(o.nom) + "</strong></a><br>" +
              escapeHtml(o.structure) + (o.commune ? " · " + escapeHtml(o.commune) : "") + "<br><small>" +
              escapeHtml(o.thematiques.join(", ")) + "</small>");
          });
      });
    }
  }
  if (!customElements.get("offre-map")) customElements.define("offre-map", OffreMap);
})();
