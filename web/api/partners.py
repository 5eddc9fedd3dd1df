"""/api/v1/structures/<id>/services…: partners publish their own services with a
bearer token of their structure (scope `write`; `read` to read back).

The partner's own id is the key: `PUT …/services/<partner_id>` creates or replaces
the service whose source is the structure's token source and whose source_id is the
partner id, so repeating it changes nothing. Validation is the back-office's
(catalogue.writes) and every change is audited as `token:<id>`.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

from apispec import BasePlugin
from flask import current_app, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate
from werkzeug.routing import BaseConverter

from catalogue import moderation, tokens, writes
from catalogue.api_schemas import PartnerServiceSchema
from catalogue.db import set_actor
from catalogue.errors import ValidationError
from catalogue.models import LocationPrecision, Service, Status, Structure
from catalogue.schemas import FRANCE_BOXES, ServiceInput
from web.api import problem
from web.api.catalogue import service_view
from web.db import get_session

blp = Blueprint(
    "api_partners", __name__, url_prefix="/api/v1",
    description="Écriture par les partenaires : jeton de la structure (Authorization: Bearer …), portée write.",
)

PARTNER_ID_CHARS = r"[A-Za-z0-9._:~-]{1,200}"
PARTNER_ID = re.compile(f"^{PARTNER_ID_CHARS}$")
PARTNER_ID_MESSAGE = "1 à 200 caractères parmi lettres, chiffres et . _ : ~ -"
SECURITY = [{"jeton": []}]
_INPUT_FIELDS = {name: f for name, f in ServiceInput().fields.items() if not f.dump_only}


class PartnerIdConverter(BaseConverter):
    """<partner_id:…>: any one path segment reaches the view (which refuses a bad one
    with a 400 naming the rule); the spec documents the accepted pattern."""


def partner_id_param_schema(_converter) -> dict:
    return {"type": "string", "pattern": PARTNER_ID.pattern, "minLength": 1, "maxLength": 200}


class PartnerServiceInput(ServiceInput):
    """The body of PUT and POST, as the spec states it: the back-office's fields,
    `partner_id` (read by POST), nothing else (unknown fields are refused), and a
    point in France (see FranceBoxesPlugin)."""

    class Meta:
        unknown = RAISE

    partner_id = fields.String(
        allow_none=True, validate=validate.Regexp(PARTNER_ID, error=PARTNER_ID_MESSAGE),
        metadata={"description": "Identifiant du service chez le partenaire (POST ; le PUT le prend dans l'URL)."},
    )


def france_boxes_schema() -> dict:
    """longitude and latitude both absent (or null), or a point in one of the boxes of
    catalogue.schemas.FRANCE_BOXES: what catalogue.schemas.PlaceMixin accepts."""
    boxes = [
        {
            "required": ["longitude", "latitude"],
            "properties": {
                "longitude": {"type": "number", "minimum": lon_min, "maximum": lon_max},
                "latitude": {"type": "number", "minimum": lat_min, "maximum": lat_max},
            },
        }
        for lon_min, lat_min, lon_max, lat_max in FRANCE_BOXES
    ]
    neither = {"properties": {"longitude": {"nullable": True, "enum": [None]},
                              "latitude": {"nullable": True, "enum": [None]}}}
    return {"anyOf": [*boxes, neither]}


class FranceBoxesPlugin(BasePlugin):
    """Adds the France boxes of the point to the body schema of the spec."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        if schema is not None and issubclass(schema_class, PartnerServiceInput):
            return france_boxes_schema()
        return None


class Refused(Exception):
    def __init__(self, response):
        self.response = response


def _token(session, structure_id: uuid.UUID, scope: str) -> tokens.ApiToken:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() != "bearer ":
        response = problem(401, "Jeton absent : envoyez l'en-tête « Authorization: Bearer <jeton> » de votre structure.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="offre"'
        raise Refused(response)
    token = tokens.authenticate(session, header[7:].strip())
    if token is None:
        response = problem(401, "Jeton inconnu ou révoqué.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="offre", error="invalid_token"'
        raise Refused(response)
    if token.structure_id != structure_id:
        raise Refused(problem(403, f"Ce jeton appartient à une autre structure : il ne peut pas agir sur la structure {structure_id}."))
    if not token.allows(scope) and not (scope == "read" and token.allows("write")):
        label = tokens.SCOPE_LABELS[scope]
        raise Refused(problem(403, f"Ce jeton n'a pas la portée « {scope} » ({label})."))
    return token


def _structure(session, structure_id: uuid.UUID) -> Structure:
    structure = session.get(Structure, structure_id)
    if structure is None or structure.status == Status.ARCHIVE:
        raise Refused(problem(404, f"Aucune structure active n'a l'identifiant {structure_id}."))
    return structure


def _partner_id(partner_id: str) -> str:
    if not PARTNER_ID.match(partner_id):
        raise Refused(problem(400, f"partner_id : {PARTNER_ID_MESSAGE}", {"partner_id": [PARTNER_ID_MESSAGE]}))
    return partner_id


def _find(session, structure_id: uuid.UUID, partner_id: str) -> Service | None:
    return tokens.partner_service(session, structure_id, partner_id)


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Refused(problem(400, "Le corps de la requête doit être un objet JSON (Content-Type: application/json)."))
    unknown = sorted(set(body) - set(_INPUT_FIELDS) - {"partner_id"})
    if unknown:
        raise Refused(problem(
            400, f"Champs inconnus : {', '.join(unknown)}.", {k: ["champ inconnu"] for k in unknown}
        ))
    return body


def _full(body: dict) -> dict:
    """A PUT replaces the service: an absent field is emptied."""
    data = {}
    for name, f in _INPUT_FIELDS.items():
        if name in body:
            data[name] = body[name]
        elif f.load_default is not None and not callable(f.load_default):
            data[name] = f.load_default
        elif name in ("thematiques", "publics", "modes_accueil", "zone_eligibilite", "modes_mobilisation", "mobilisable_par"):
            data[name] = []
        else:
            data[name] = None
    if data.get("date_maj") is None:
        data["date_maj"] = date.today().isoformat()
    return data


def _before_publish() -> bool:
    return current_app.extensions["offre"]["settings"].moderation_before_publish


def _create(session, structure: Structure, data: dict, partner_id: str, repairs: list[str]) -> Service:
    """A new service published as the back-office form publishes one: into the
    moderation queue, and a draft until reviewed under MODERATION_BEFORE_PUBLISH
    (a token is never a moderator)."""
    service = writes.create_service(
        session, structure, data, source=tokens.token_source(structure.id), source_id=partner_id,
        status=moderation.publication_status(before_publish=_before_publish(), reviewer=False),
        repairs=repairs,
    )
    moderation.publish(session, service, before_publish=_before_publish(), reviewer=False)
    return service


def _response(session, service: Service, status: int, repairs: list[str] | None = None):
    data, _ = service_view(session, service.id, statuses=tuple(Status))
    data["partner_id"] = service.source_id if service.source == tokens.token_source(service.structure_id) else None
    data["avertissements"] = list(repairs or [])
    response = current_app.json.response(PartnerServiceSchema().dump(data))
    response.status_code = status
    response.headers["Location"] = url_for(
        "api_partners.partner_service", structure_id=service.structure_id, partner_id=service.source_id, _external=True
    )
    return response


def _guard(view):
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Refused as refused:
            get_session().rollback()
            return refused.response
        except ValidationError as exc:
            get_session().rollback()
            return problem(400, str(exc), exc.errors)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


_BODY_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": PartnerServiceInput}}}}


@blp.route("/structures/<uuid:structure_id>/services/<partner_id:partner_id>", methods=["GET"])
@blp.response(200, PartnerServiceSchema)
@blp.doc(summary="Lire un service par l'identifiant du partenaire", security=SECURITY)
@_guard
def partner_service(structure_id, partner_id):
    session = get_session()
    _token(session, structure_id, "read")
    service = _find(session, structure_id, _partner_id(partner_id))
    if service is None:
        raise Refused(problem(404, f"Aucun service de cette structure n'a l'identifiant partenaire « {partner_id} »."))
    session.commit()
    return _response(session, service, 200)


@blp.route("/structures/<uuid:structure_id>/services/<partner_id:partner_id>", methods=["PUT"])
@blp.response(200, PartnerServiceSchema, description="Service remplacé.")
@blp.alt_response(201, schema=PartnerServiceSchema, description="Service créé.")
@blp.doc(summary="Créer ou remplacer un service (idempotent)", security=SECURITY, **_BODY_DOC)
@_guard
def put_service(structure_id, partner_id):
    session = get_session()
    token = _token(session, structure_id, "write")
    structure = _structure(session, structure_id)
    partner_id = _partner_id(partner_id)
    data = _full(_body())
    set_actor(session, f"token:{token.id}")
    service = _find(session, structure_id, partner_id)
    repairs: list[str] = []
    if service is None:
        service = _create(session, structure, data, partner_id, repairs)
        status = 201
    else:
        if data.get("longitude") is None and service.location_precision == LocationPrecision.SOURCE:
            # Coordinates withdrawn: fall back to the commune centre.
            service.location, service.location_precision = None, None
        writes.update_service(session, service, data, repairs=repairs)
        if service.status == Status.ARCHIVE:
            writes.restore(session, service, Status.BROUILLON)
        if service.status != Status.PUBLIE:
            # A PUT publishes, as the form's « Publier » does: a draft (restored,
            # hidden by a moderator, or still waiting) goes through moderation again.
            moderation.publish(session, service, before_publish=_before_publish(), reviewer=False)
        status = 200
    session.commit()
    return _response(session, service, status, repairs)


@blp.route("/structures/<uuid:structure_id>/services", methods=["POST"])
@blp.response(201, PartnerServiceSchema, description="Service créé ; son identifiant partenaire est dans `partner_id` et l'en-tête Location.")
@blp.doc(summary="Créer un service", security=SECURITY, **_BODY_DOC)
@_guard
def post_service(structure_id):
    session = get_session()
    token = _token(session, structure_id, "write")
    structure = _structure(session, structure_id)
    body = _body()
    partner_id = _partner_id(str(body.get("partner_id") or uuid.uuid4()))
    if _find(session, structure_id, partner_id) is not None:
        raise Refused(problem(409, f"Un service de cette structure a déjà l'identifiant partenaire « {partner_id} » : utilisez PUT pour le remplacer."))
    data = _full(body)
    set_actor(session, f"token:{token.id}")
    repairs: list[str] = []
    service = _create(session, structure, data, partner_id, repairs)
    session.commit()
    return _response(session, service, 201, repairs)


@blp.route("/structures/<uuid:structure_id>/services/<partner_id:partner_id>", methods=["DELETE"])
@blp.response(204, description="Service archivé (rien n'est supprimé).")
@blp.doc(summary="Archiver un service", security=SECURITY)
@_guard
def archive_service(structure_id, partner_id):
    session = get_session()
    token = _token(session, structure_id, "write")
    service = _find(session, structure_id, _partner_id(partner_id))
    if service is None:
        raise Refused(problem(404, f"Aucun service de cette structure n'a l'identifiant partenaire « {partner_id} »."))
    set_actor(session, f"token:{token.id}")
    writes.archive(session, service)
    session.commit()
    return current_app.response_class(status=204)
