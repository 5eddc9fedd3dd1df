"""/api/v1/export/data-inclusion/{structures,services}: the catalogue as data·inclusion
v1 records, in stable cursor pages (keyset on the catalogue id: no duplicate nor gap
across pages while the catalogue changes)."""

from __future__ import annotations

from flask import current_app, jsonify, url_for
from flask_smorest import Blueprint

from catalogue import export
from catalogue.api_schemas import (
    DataInclusionServicePage,
    DataInclusionStructurePage,
    ExportQuerySchema,
)
from catalogue.errors import ValidationError
from web.api import problem
from web.api.http import link_header, page_links
from web.db import get_session

blp = Blueprint(
    "api_export", __name__, url_prefix="/api/v1/export/data-inclusion",
    description="Export au format data·inclusion v1 (schéma du paquet data-inclusion-schema).",
)


def _page(kind: str, args: dict, schema):
    try:
        after = export.decode_cursor(args["cursor"]) if args.get("cursor") else None
    except ValidationError as exc:
        return problem(400, str(exc), exc.errors)
    source = export.default_source(current_app.extensions["offre"]["settings"].departement_code)
    fetch = export.structures_page if kind == "structures" else export.services_page
    page = fetch(get_session(), source, after=after, size=args["size"],
                 include_imported=args["include_imported"])
    query = {"size": args["size"]}
    if args["include_imported"]:
        query["include_imported"] = "true"
    links = page_links(url_for(f"api_export.{kind}", _external=True), query, page.next_cursor)
    body = schema().dump({"items": page.records, "next_cursor": page.next_cursor, "links": links})
    response = jsonify(body)
    response.headers["Link"] = link_header({k: v for k, v in links.items() if k == "next"})
    if not page.next_cursor:
        del response.headers["Link"]
    return response


@blp.get("/structures")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, DataInclusionStructurePage)
@blp.doc(summary="Structures (data·inclusion v1)", description="Structures publiées, par pages ; suivez `links.next` (ou l'en-tête Link) jusqu'à ce qu'il n'y en ait plus.")
def structures(args):
    return _page("structures", args, DataInclusionStructurePage)


@blp.get("/services")
@blp.arguments(ExportQuerySchema, location="query")
@blp.response(200, DataInclusionServicePage)
@blp.doc(summary="Services (data·inclusion v1)", description="Services publiés des structures publiées, par pages ; `structure_id` renvoie aux identifiants de l'export des structures.")
def services(args):
    return _page("services", args, DataInclusionServicePage)
