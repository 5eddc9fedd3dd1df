/* The offer form, improved when JavaScript runs (the form works without it):
   - a small Leaflet map with a draggable marker that fills latitude/longitude;
   - « Ajouter à la zone » appends a commune chosen in the autocomplete to the zone. */
(function () {
  "use strict";
  var lat = document.getElementById("latitude");
  var lon = document.getElementById("longitude");
  var box = document.getElementById("carte-lieu");
  if (box && lat && lon && window.L) {
    box.hidden = false;
    var start = [parseFloat(lat.value), parseFloat(lon.value)];
    var placed = !isNaN(start[0]) && !isNaN(start[1]);
    if (!placed) {
      var centre = (box.getAttribute("data-centre") || "46.6,2.4").split(",").map(parseFloat);
      start = centre;
    }
    var map = L.map(box).setView(start, placed ? 15 : (box.getAttribute("data-centre") ? 9 : 5));
    var tiles = box.getAttribute("data-tiles");
    if (tiles) L.tileLayer(tiles, { attribution: box.getAttribute("data-attribution"), maxZoom: 19 }).addTo(map);
    var marker = null;  // no point yet: the marker appears at the first click
    function fill(p) {
      lat.value = p.lat.toFixed(6);
      lon.value = p.lng.toFixed(6);
    }
    function place(p) {
      if (!marker) {
        marker = L.marker(p, { draggable: true, keyboard: true, title: "Lieu d'accueil (déplaçable)" }).addTo(map);
        marker.on("dragend", function () { fill(marker.getLatLng()); });
      } else {
        marker.setLatLng(p);
      }
    }
    if (placed) place(start);
    map.on("click", function (e) { place(e.latlng); fill(e.latlng); });
    function follow() {
      var p = [parseFloat(lat.value), parseFloat(lon.value)];
      if (!isNaN(p[0]) && !isNaN(p[1])) { place(p); map.setView(p); }
    }
    lat.addEventListener("change", follow);
    lon.addEventListener("change", follow);
  }
  var picker = document.querySelector(".zone-picker");
  var zone = document.getElementById("zone");
  if (picker && zone) {
    picker.hidden = false;
    var input = document.getElementById("zone-ajout");
    var code = document.getElementById("zone-ajout-code");
    document.getElementById("zone-ajouter").addEventListener("click", function () {
      var typed = input.value.trim();
      if (!typed) return;
      var line = code.value ? typed.replace(/\s*\(.*\)$/, "") + " (" + code.value + ")" : typed;
      zone.value = (zone.value.trim() ? zone.value.trim() + "\n" : "") + line;
      input.value = ""; code.value = "";
      input.focus();
    });
  }
})();
