/* Maps described by the server: <div data-map-config="ID"> and
   <script type="application/json" id="ID"> (data, never run) holding
   {label, tiles, attribution, maxZoom, center, zoom, bounds, boundsMaxZoom,
    points: [[lat, lon, label, url|null]…], cluster, layers: [{name, geojson, style, tooltip}]}.
   Built here with Leaflet (and markercluster), so that pages need no inline script.
   Popups and tooltips are made of DOM text nodes: no server text is read as HTML. */
(function () {
  "use strict";

  function popup(label, url) {
    var node;
    if (url) {
      node = document.createElement("a");
      node.href = url;
    } else {
      node = document.createElement("span");
    }
    node.textContent = label;
    return node;
  }

  function tooltipTable(rows, properties) {
    var table = document.createElement("table");
    table.className = "map-tooltip";
    rows.forEach(function (row) {
      var tr = table.insertRow(), th = document.createElement("th");
      th.scope = "row";
      th.textContent = row[1];
      tr.appendChild(th);
      tr.insertCell().textContent = properties[row[0]] == null ? "" : String(properties[row[0]]);
    });
    return table;
  }

  // The base layer: the département's and its EPCIs' outlines, under everything,
  // so that a map without tiles (offline, a tile server down) shows where it is.
  function drawBase(map, url) {
    fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (geojson) {
        if (!geojson) return;
        var layer = L.geoJSON(geojson, {
          interactive: false,
          style: function (feature) {
            var dep = feature.properties && feature.properties.kind === "departement";
            return { className: "offre-base offre-base-" + (dep ? "departement" : "epci"),
                     color: dep ? "#3d4a57" : "#8696a7", weight: dep ? 2 : 1,
                     fill: dep, fillColor: "#eef2f5", fillOpacity: dep ? 0.35 : 0 };
          }
        }).addTo(map);
        layer.bringToBack();
      })
      .catch(function () { /* the map works without its base layer */ });
  }
  window.offreDrawBase = drawBase;

  function build(el) {
    var source = document.getElementById(el.getAttribute("data-map-config"));
    if (!source || el._map || !window.L) return;
    var c = JSON.parse(source.textContent);
    var map = L.map(el, { center: c.center, zoom: c.zoom, maxZoom: c.maxZoom });
    el._map = map;
    el.setAttribute("role", "region");
    el.setAttribute("aria-label", c.label);
    if (c.tiles) {
      L.tileLayer(c.tiles, { maxZoom: c.maxZoom, attribution: c.attribution || "" }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    if (c.base) drawBase(map, c.base);
    (c.layers || []).forEach(function (layer) {
      var options = {
        style: function (feature) {
          var own = feature.properties && feature.properties._style;
          return Object.assign({}, layer.style || {}, own || {});
        }
      };
      if (layer.tooltip && layer.tooltip.length) {
        options.onEachFeature = function (feature, shape) {
          shape.bindTooltip(function () { return tooltipTable(layer.tooltip, feature.properties || {}); },
                            { sticky: true });
        };
      }
      L.geoJSON(layer.geojson, options).addTo(map);
    });
    if (c.points && c.points.length) {
      var group = c.cluster && L.markerClusterGroup ? L.markerClusterGroup({ maxClusterRadius: 50 }) : L.layerGroup();
      c.points.forEach(function (p) {
        L.marker([p[0], p[1]], { title: p[2], alt: p[2] }).bindPopup(popup(p[2], p[3])).addTo(group);
      });
      group.addTo(map);
    }
    if (c.bounds) {
      map.fitBounds(c.bounds, c.boundsMaxZoom ? { maxZoom: c.boundsMaxZoom } : {});
    }
  }

  function buildAll() {
    document.querySelectorAll("[data-map-config]").forEach(build);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", buildAll);
  } else {
    buildAll();
  }
})();
