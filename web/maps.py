"""Small maps drawn with folium, fully offline: every asset points to our own static
files (instance-level `default_js`/`default_css`, no change to folium's globals), no
jQuery/Bootstrap/Font Awesome, the tile server from settings (none: no background).

Pages include the map's HTML and script (not folium's <head>, whose viewport meta
forbids zooming); base.html loads Leaflet and markercluster when a page has a map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import folium
from branca.element import MacroElement, Template
from folium.elements import JSCSSMixin
from markupsafe import escape

LEAFLET_JS = [("leaflet", "/static/vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "/static/vendor/leaflet/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", "/static/vendor/markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [
    ("markerclustercss", "/static/vendor/markercluster/MarkerCluster.css"),
    ("markerclusterdefaultcss", "/static/vendor/markercluster/MarkerCluster.Default.css"),
]
MAX_ZOOM = 18


@dataclass(frozen=True)
class MapPoint:
    lon: float
    lat: float
    label: str
    url: str | None = None


@dataclass(frozen=True)
class RenderedMap:
    html: str  # the map's <div>
    script: str  # its <script> element


class _AccessibleMap(MacroElement):
    """Gives the map container a role and a name for assistive technology."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (el) { el.setAttribute('role', 'region');"
        " el.setAttribute('aria-label', {{ this.label }}); })"
        "({{ this._parent.get_name() }}.getContainer());"
        "{% endmacro %}"
    )

    def __init__(self, label: str):
        super().__init__()
        self._name = "AccessibleMap"
        self.label = _js_string(label)


class _Points(JSCSSMixin, MacroElement):
    """Markers from one JSON array (title and alt text, a plain-HTML popup), in a
    cluster group or directly on the map, and the map fitted to them. One element
    for all the points: a folium Marker and its popup per point compiled templates
    for each, half of a results page's own time."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (map, points, cluster) {"
        " var layer = cluster ? L.markerClusterGroup({maxClusterRadius: 50}) : L.layerGroup();"
        " points.forEach(function (p) {"
        "  L.marker([p[0], p[1]], {title: p[2], alt: p[2]}).bindPopup(p[3]).addTo(layer); });"
        " layer.addTo(map);"
        "})({{ this._parent.get_name() }}, {{ this.points }}, {{ this.cluster }});"
        "{% endmacro %}"
    )

    def __init__(self, points: list[MapPoint], cluster: bool):
        super().__init__()
        self._name = "Points"
        rows = []
        for p in points:
            content = f'<a href="{escape(p.url)}">{escape(p.label)}</a>' if p.url else str(escape(p.label))
            rows.append([p.lat, p.lon, p.label, content])
        self.points = _js_string(rows)
        self.cluster = "true" if cluster else "false"
        if cluster:
            self.default_js = list(CLUSTER_JS)
            self.default_css = list(CLUSTER_CSS)


def _js_string(value) -> str:
    """A JS literal safe inside a <script> element and inert to a reader of the
    source: <, >, & and ' as unicode escapes."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    )


def new_map(
    *, tiles_url: str, attribution: str, label: str, center: tuple[float, float] | None = None, zoom: int = 10
) -> folium.Map:
    """A map with our assets and the configured tiles. `center` is (lon, lat)."""
    lon, lat = center or (2.35, 46.6)
    m = folium.Map(
        location=[lat, lon],
        zoom_start=zoom,
        tiles=None,
        # Without a tile layer the map needs its own maxZoom (markercluster needs it).
        maxZoom=MAX_ZOOM,
        control_scale=True,
        width="100%",
        height="100%",
    )
    m.default_js = list(LEAFLET_JS)
    m.default_css = list(LEAFLET_CSS)
    if tiles_url:
        folium.TileLayer(tiles=tiles_url, attr=attribution, max_zoom=MAX_ZOOM, name="Fond de carte").add_to(m)
    _AccessibleMap(label).add_to(m)
    return m


def add_points(m: folium.Map, points: list[MapPoint], *, cluster: bool = True) -> None:
    """Markers with a popup naming the point (and linking to it); clustered."""
    _Points(points, cluster).add_to(m)
    if points:
        lats = [p.lat for p in points]
        lons = [p.lon for p in points]
        if len(points) == 1:
            m.location = [lats[0], lons[0]]
        else:
            m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], max_zoom=13)


def add_zone(m: folium.Map, geometry: dict, name: str) -> None:
    """An eligibility zone as an outlined, lightly filled shape; fits the map to it."""
    folium.GeoJson(
        {"type": "Feature", "properties": {"nom": name}, "geometry": geometry},
        name=name,
        style_function=lambda _f: {"color": "#1d3f6e", "weight": 2, "fillOpacity": 0.08},
    ).add_to(m)
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


def render(m: folium.Map) -> RenderedMap:
    """The map's <div> and <script>, to place inside one of our pages."""
    root = m.get_root()
    root.render()
    return RenderedMap(html=root.html.render(), script=root.script.render())
