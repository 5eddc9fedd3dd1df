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
from dataclasses import dataclass

from flask import url_for
from markupsafe import Markup

# The description itself is plain data (geo/map_config.py); here: the base layer's
# URL and the HTML of our pages.
from geo.map_config import Map, MapPoint, add_layer, add_points, add_zone, config, json_for_script  # noqa: F401

_ids = itertools.count(1)


@dataclass(frozen=True)
class RenderedMap:
    html: str  # the map's <div>
    script: str  # its description: a <script type="application/json"> element


def new_map(
    *, tiles_url: str, attribution: str, label: str, center: tuple[float, float] | None = None, zoom: int = 10
) -> Map:
    """A map with the configured tiles, over the base layer of the deploying
    département (outlines: web/public/routes.py, /carte/fond.json) so that it shows
    where things are even without tiles. `center` is (lon, lat)."""
    lon, lat = center or (2.35, 46.6)
    return Map(label=label, tiles_url=tiles_url, attribution=attribution, center=[lat, lon], zoom=zoom,
               base=url_for("public.basemap"))


def render(m: Map, without_js: str | None = None, list_anchor: str | None = None) -> RenderedMap:
    """The map's <div> and its JSON description, to place inside one of our pages.
    Without JavaScript the box says what it would show (`without_js`) and links to
    the list that is its equivalent (`list_anchor`), instead of staying empty."""
    map_id = f"carte-{next(_ids)}"
    words = without_js or "Cette carte demande JavaScript."
    fallback = Markup("<noscript><p class=\"map-fallback\">{}").format(words)
    if list_anchor:
        fallback += Markup(' <a href="{}">Voir la liste</a>').format(list_anchor)
    fallback += Markup("</p></noscript>")
    html = Markup('<div class="static-map" id="{0}" data-map-config="{0}-config">{1}</div>').format(map_id, fallback)
    script = Markup('<script type="application/json" id="{}-config">').format(map_id) + Markup(
        json_for_script(config(m))) + Markup("</script>")
    return RenderedMap(html=str(html), script=str(script))

