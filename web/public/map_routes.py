"""The public map of the whole offer, on the public blueprint: the page (with its
list of communes, the alternative without JavaScript), its points, its base layer
and the popups."""

from __future__ import annotations

import gzip
import hashlib
import json
import re

from flask import abort, current_app, jsonify, make_response, render_template, request, url_for

from catalogue import public_queries as pq
from catalogue import vocabulary
from geo.territories import basemap_geojson
from web import i18n
from web.db import get_session
from web.public.routes import _settings, _uuid_or_404, bp


def _map_args() -> tuple[str | None, str | None]:
    group = request.args.get("thematique") or None
    if group and group not in vocabulary.spie_group_by_code():
        abort(400, description=f"thematique : « {group} » n'est pas une des dix thématiques du SPIE.")
    departement = request.args.get("departement") or None
    if departement and not re.match(r"^(\d{2}|2[AB]|97\d)$", departement):
        abort(400, description=f"departement : « {departement} » n'est pas un code de département.")
    return group, departement


@bp.get("/carte")
def public_map():
    group, departement = _map_args()
    session = get_session()
    params = {k: v for k, v in (("thematique", group), ("departement", departement)) if v}
    return render_template(
        "public/map.html",
        groups=vocabulary.spie_groups(),
        group=group,
        departement=departement,
        points_url=url_for("public.map_points", **params),
        communes=pq.map_communes(session, group, departement),
    )


@bp.get("/carte/points.json")
def map_points():
    """Compact points of the public map: {"fields": [...], "points": [[lon, lat, id]]},
    gzipped when the client accepts it, cacheable with an ETag."""
    group, departement = _map_args()
    points = pq.map_points(get_session(), group, departement)
    body = json.dumps({"fields": ["lon", "lat", "id"], "points": points}, separators=(",", ":")).encode()
    etag = hashlib.sha1(body).hexdigest()
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
        response.set_etag(etag)
        return response
    response = make_response(body)
    response.content_type = "application/json"
    if "gzip" in (request.headers.get("Accept-Encoding") or ""):
        response.set_data(gzip.compress(body, compresslevel=6))
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=300"
    response.set_etag(etag)
    return response


@bp.get("/carte/fond.json")
def basemap():
    """The light base layer of every map (the deploying département's outline and its
    EPCIs'), so that a map without tiles still shows where things are. Computed once
    per process, cached by browsers for a day."""
    cache = current_app.extensions["offre"]
    if "basemap" not in cache:
        found = basemap_geojson(get_session(), _settings().departement_code)
        body = json.dumps(found or {"type": "FeatureCollection", "features": []}, separators=(",", ":")).encode()
        cache["basemap"] = (body, gzip.compress(body, compresslevel=6), hashlib.sha1(body).hexdigest())
    body, compressed, etag = cache["basemap"]
    if request.if_none_match.contains(etag):
        response = make_response("", 304)
        response.set_etag(etag)
        return response
    gzipped = "gzip" in (request.headers.get("Accept-Encoding") or "")
    response = make_response(compressed if gzipped else body)
    response.content_type = "application/json"
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.set_etag(etag)
    return response


@bp.get("/carte/offres/<service_id>.json")
def map_popup(service_id):
    found = pq.map_popup(get_session(), _uuid_or_404(service_id))
    if found is None:
        abort(404)
    found["url"] = url_for("public.service", service_id=found["id"])
    found["thematiques"] = i18n.labels(found.get("thematiques"))
    return jsonify(found)
