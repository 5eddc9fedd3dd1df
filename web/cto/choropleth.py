"""The coverage map: communes coloured by the distance band of their nearest
eligible on-site offer, the gaps of the chosen radius outlined. Drawn by web.maps
(our own Leaflet, no CDN, no inline script); the page's tables say the same."""

from __future__ import annotations

from web import maps


def add_choropleth(m: maps.Map, geojson: dict, colours: dict, labels: dict, radius_km: int) -> None:
    if not geojson["features"]:
        return  # nothing to draw
    for feature in geojson["features"]:
        p = feature["properties"]
        p["classe"] = labels[p["band"]]
        p["sans_offre"] = f"sans offre sur place à moins de {radius_km} km" if p["gap"] else f"offre sur place à moins de {radius_km} km"
        p["_style"] = {
            "fillColor": colours[p["band"]],
            "fillOpacity": 0.75,
            "color": "#000000" if p["gap"] else "#555555",
            "weight": 2 if p["gap"] else 0.4,
        }
    maps.add_layer(
        m, geojson, name="Couverture",
        tooltip=[("nom", "Commune"), ("population", "Population"), ("classe", "Offre la plus proche"),
                 ("sans_offre", "Rayon choisi")],
    )
    bounds = _bounds(geojson)
    if bounds:
        m.fit_bounds(bounds)


def _bounds(geojson: dict):
    boxes = [maps._bounds(f["geometry"]) for f in geojson["features"]]
    boxes = [b for b in boxes if b]
    if not boxes:
        return None
    return [[min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)],
            [max(b[1][0] for b in boxes), max(b[1][1] for b in boxes)]]
