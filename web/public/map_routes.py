"""The public map of the whole offer, on the public blueprint: the page (with its
list of communes, the alternative without JavaScript), its groups per view, its base layer
and the popups."""

from __future__ import annotations

import gzip
import hashlib
import json

from flask import abort, current_app, jsonify, make_response, render_template, request, url_for

from catalogue import map_queries as mq
from catalogue import vocabulary
from geo.territories import basemap_geojson
from web import i18n
from web.db import get_session
from web.public.routes import _page_numbers, _settings, _uuid_or_404, bp


def _map_args(need_view: bool = False) -> mq.MapArgs:
    try:
        return mq.map_args(get_session(), request.args, _settings().departement_code, need_view=need_view)
    except mq.MapArgError as exc:
        abort(400, description=str(exc))


@bp.get("/carte")
def public_map():
    args = _map_args()
    session = get_session()
    params = {"thematique": args.thematique, "departement": args.departement or mq.FRANCE}
    try:
        listing = mq.map_communes(session, args)
    except mq.MapArgError as exc:
        abort(400, description=str(exc))
    return render_template(
        "public/map.html", groups=vocabulary.spie_groups(), args=args, params=params, listing=listing,
        departements=mq.departements(session), france=mq.FRANCE, bounds=mq.bounds(session, args.departement),
        page_numbers=_page_numbers(listing["page"], listing["pages"]),
        clusters_url=url_for("public.map_clusters", **params),
    )


@bp.get("/carte/groupes.json")
def map_clusters():
    """The offers grouped for one view (bbox, zoom) of the map: bounded whatever the
    catalogue; gzipped when the client accepts it, cacheable with an ETag."""
    body = json.dumps(mq.map_clusters(get_session(), _map_args(need_view=True)), separators=(",", ":")).encode()
    return _json(body, hashlib.sha1(body).hexdigest(), gzip.compress(body, compresslevel=6), 300)


def _json(body: bytes, etag: str, compressed: bytes, max_age: int):
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
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
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
    return _json(body, etag, compressed, 86400)


@bp.get("/carte/offres/<service_id>.json")
def map_popup(service_id):
    found = mq.map_popup(get_session(), _uuid_or_404(service_id))
    if found is None:
        abort(404)
    found["url"] = url_for("public.service", service_id=found["id"])
    found["thematiques"] = i18n.labels(found.get("thematiques"))
    found["meme_lieu"] = [dict(o, url=url_for("public.service", service_id=o["id"])) for o in found["meme_lieu"]]
    return jsonify(found)
