"""Small maps, fully offline and without any inline script (the Content-Security-
Policy forbids them): the page carries the map's description as JSON in a
<script type="application/json"> element (data, never run), and our static
web/static/js/static-map.js builds the Leaflet map from it. Every asset is ours
(no CDN); the tile server comes from settings (none: no background).

A description holds: the tiles, an accessible label, a centre and zoom or bounds to
fit, points (title, popup text and link, clustered or not) and GeoJSON layers (a
style per feature, an optional tooltip table of properties). Popups and tooltips are
built with DOM text nodes in the browser: nothing here is HTML.
base.html loads Leaflet, markercluster and static-map.js when a page has a map.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field

from flask import url_for
from markupsafe import Markup

MAX_ZOOM = 18
_ids = itertools.count(1)


@dataclass(frozen=True)
class MapPoint:
    lon: float
    lat: float
    label: str
    url: str | None = None


@dataclass(frozen=True)
class RenderedMap:
    html: str  # the map's <div>
    script: str  # its description: a <script type="application/json"> element


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


def new_map(
    *, tiles_url: str, attribution: str, label: str, center: tuple[float, float] | None = None, zoom: int = 10
) -> Map:
    """A map with the configured tiles, over the base layer of the deploying
    département (outlines: web/public/routes.py, /carte/fond.json) so that it shows
    where things are even without tiles. `center` is (lon, lat)."""
    lon, lat = center or (2.35, 46.6)
    return Map(label=label, tiles_url=tiles_url, attribution=attribution, center=[lat, lon], zoom=zoom,
               base=url_for("public.basemap"))


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
    bounds = _bounds(geometry)
    if bounds:
        m.fit_bounds(bounds)


def _bounds(geometry: dict) -> list[list[float]] | None:
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


def render(m: Map, without_js: str | None = None, list_anchor: str | None = None) -> RenderedMap:
    """The map's <div> and its JSON description, to place inside one of our pages.
    Without JavaScript the box says what it would show (`without_js`) and links to
    the list that is its equivalent (`list_anchor`), instead of staying empty."""
    map_id = f"carte-{next(_ids)}"
    config = {
        "label": m.label, "tiles": m.tiles_url, "attribution": m.attribution, "maxZoom": MAX_ZOOM,
        "center": m.center, "zoom": m.zoom, "bounds": m.bounds, "boundsMaxZoom": m.max_bounds_zoom,
        "points": m.points, "cluster": m.cluster, "layers": m.layers, "base": m.base,
    }
    words = without_js or "Cette carte demande JavaScript."
    fallback = Markup("<noscript><p class=\"map-fallback\">{}").format(words)
    if list_anchor:
        fallback += Markup(' <a href="{}">Voir la liste</a>').format(list_anchor)
    fallback += Markup("</p></noscript>")
    html = Markup('<div class="static-map" id="{0}" data-map-config="{0}-config">{1}</div>').format(map_id, fallback)
    script = Markup('<script type="application/json" id="{}-config">').format(map_id) + Markup(
        json_for_script(config)) + Markup("</script>")
    return RenderedMap(html=str(html), script=str(script))

