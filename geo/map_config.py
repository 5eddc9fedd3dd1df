"""A small map's description as plain data (web/maps.py turns it into our page's
JSON and <div>): the tiles, an accessible label, a centre and zoom or bounds to fit,
points (title, link, clustered or not) and GeoJSON layers (a style per feature, an
optional tooltip table of properties), and the coverage choropleth of the CTO pages.
Nothing here is HTML nor needs a request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

MAX_ZOOM = 18


@dataclass(frozen=True)
class MapPoint:
    lon: float
    lat: float
    label: str
    url: str | None = None


@dataclass
class Map:
    """A map's description, turned into JSON by render()."""

    label: str
    tiles_url: str
    attribution: str
    center: list[float]  # [lat, lon]
    zoom: int
    bounds: list[list[float]] | None = None  # [[south, west], [north, east]]
    max_bounds_zoom: int | None = None
    points: list[list] = field(default_factory=list)  # [lat, lon, label, url or None]
    cluster: bool = True
    layers: list[dict] = field(default_factory=list)
    base: str | None = None  # URL of the base layer (outlines drawn under everything)

    def fit_bounds(self, bounds: list[list[float]], max_zoom: int | None = None) -> None:
        self.bounds = bounds
        self.max_bounds_zoom = max_zoom


def add_points(m: Map, points: list[MapPoint], *, cluster: bool = True) -> None:
    """Markers with a popup naming the point (and linking to it); clustered."""
    m.points.extend([p.lat, p.lon, p.label, p.url] for p in points)
    m.cluster = cluster
    if points:
        lats = [p.lat for p in points]
        lons = [p.lon for p in points]
        if len(points) == 1:
            m.center = [lats[0], lons[0]]
        else:
            m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], max_zoom=13)


def add_layer(m: Map, geojson: dict, *, name: str, style: dict | None = None,
              tooltip: list[tuple[str, str]] | None = None) -> None:
    """A GeoJSON layer. `style`: Leaflet path options for every feature (a feature's
    own properties["_style"] wins); `tooltip`: (property, label) rows shown on hover."""
    m.layers.append({"name": name, "geojson": geojson, "style": style or {},
                     "tooltip": [list(row) for row in tooltip or []]})


def add_zone(m: Map, geometry: dict, name: str) -> None:
    """An eligibility zone as an outlined, lightly filled shape; fits the map to it."""
    add_layer(m, {"type": "Feature", "properties": {"nom": name}, "geometry": geometry}, name=name,
              style={"color": "#1d3f6e", "weight": 2, "fillOpacity": 0.08})
    bounds = bounds_of(geometry)
    if bounds:
        m.fit_bounds(bounds)


def bounds_of(geometry: dict) -> list[list[float]] | None:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    walk(geometry.get("coordinates") or [])
    if not xs:
        return None
    return [[min(ys), min(xs)], [max(ys), max(xs)]]


def json_for_script(value) -> str:
    """JSON safe inside a <script> element and inert to a reader of the source:
    <, >, & and ' as unicode escapes, so no text can close the element or look like
    markup."""
    return (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    )


def config(m: Map) -> dict:
    """The description read by web/static/js/static-map.js."""
    return {
        "label": m.label, "tiles": m.tiles_url, "attribution": m.attribution, "maxZoom": MAX_ZOOM,
        "center": m.center, "zoom": m.zoom, "bounds": m.bounds, "boundsMaxZoom": m.max_bounds_zoom,
        "points": m.points, "cluster": m.cluster, "layers": m.layers, "base": m.base,
    }


# --- the coverage map (CTO): communes coloured by the distance band of their
# nearest eligible on-site offer, the gaps of the chosen radius outlined; the
# page's tables say the same.

def add_choropleth(m: Map, geojson: dict, colours: dict, labels: dict, radius_km: int) -> None:
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
    add_layer(
        m, geojson, name="Couverture",
        tooltip=[("nom", "Commune"), ("population", "Population"), ("classe", "Offre la plus proche"),
                 ("sans_offre", "Rayon choisi")],
    )
    bounds = _features_bounds(geojson)
    if bounds:
        m.fit_bounds(bounds)


def _features_bounds(geojson: dict):
    boxes = [bounds_of(f["geometry"]) for f in geojson["features"]]
    boxes = [b for b in boxes if b]
    if not boxes:
        return None
    return [[min(b[0][0] for b in boxes), min(b[0][1] for b in boxes)],
            [max(b[1][0] for b in boxes), max(b[1][1] for b in boxes)]]
