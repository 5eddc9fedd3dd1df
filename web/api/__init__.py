"""/api/v1: the JSON API (flask-smorest, OpenAPI 3). Errors are
application/problem+json and name the parameter and the reason."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

# A plain blueprint so that web.app can register this package like the others.
bp = Blueprint("api_root", __name__)

TITLES = {
    400: "Requête invalide",
    401: "Authentification requise",
    403: "Accès refusé",
    404: "Introuvable",
    405: "Méthode non autorisée",
    409: "Conflit",
    412: "Précondition non remplie",
    413: "Requête trop volumineuse",
    422: "Requête invalide",
    429: "Trop de requêtes",
    503: "Service indisponible",
}


def problem(status: int, detail: str, errors: dict | None = None, **extra):
    """An application/problem+json response (RFC 9457)."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Erreur"), "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def _flatten(messages) -> dict[str, list[str]]:
    """webargs nests errors by location (query, json…): keep field -> reasons."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("query", "json", "form", "headers", "files", "path", "view_args") and isinstance(value, dict):
                flat.update(_flatten(value))
            elif isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    flat[f"{key}.{sub}"] = msgs
            else:
                flat[key] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return flat


class Api(SmorestApi):
    # Every error is documented as application/problem+json (see `problem`).
    DEFAULT_RESPONSE_CONTENT_TYPE = "application/json"

    def _register_responses(self):
        import http

        from flask_smorest.spec import prepare_response

        from catalogue.api_schemas import ProblemSchema

        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = ProblemSchema
            prepare_response(response, self.spec, "application/problem+json")
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Erreur (application/problem+json)", "schema": ProblemSchema}
        prepare_response(response, self.spec, "application/problem+json")
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = _flatten(data.get("messages") or data.get("errors") or {})
        status = 400 if error.code == 422 else (error.code or 500)
        if errors:
            detail = "; ".join(f"{field} : {', '.join(msgs)}" for field, msgs in errors.items())
        else:
            detail = data.get("message") or error.description or TITLES.get(status, "Erreur")
        response = problem(status, detail, errors or None)
        for key, value in error.get_headers():
            if key.lower() == "allow":  # 405: the methods the URL accepts
                response.headers[key] = value
        for key, value in (data.get("headers") or {}).items():
            response.headers[key] = value
        return response


def api_blueprints() -> list:
    """The API's blueprints: modules exposing `blp`, a flask_smorest.Blueprint
    (imported here: they import this package)."""
    from web.api import catalogue, export, geo, partners, search

    return [search, catalogue, geo, export, partners]


def init_app(app) -> None:
    app.config.update(
        API_TITLE="API de l'offre d'insertion",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Swagger UI is served from our own static files, never a CDN.
        OPENAPI_SWAGGER_UI_URL="/static/vendor/swagger-ui/",
    )
    from web.api import partners

    app.url_map.converters["partner_id"] = partners.PartnerIdConverter
    api = Api(app, spec_kwargs={
        "info": {"description": "Recherche et catalogue de l'offre d'insertion (vocabulaire data·inclusion v1)."},
        "extra_plugins": [partners.FranceBoxesPlugin()],
    })
    api.register_converter(partners.PartnerIdConverter, partners.partner_id_param_schema)
    api.spec.components.security_scheme(
        "jeton",
        {"type": "http", "scheme": "bearer", "description": "Jeton d'API de la structure (créé dans l'espace partenaire)."},
    )
    from search.params import blank_as_absent
    from web.input_guard import SpecPlugin

    api.spec.plugins.append(SpecPlugin())  # the control characters the guard refuses
    api.ma_plugin.converter.add_parameter_attribute_function(blank_as_absent)  # search/params.py
    for module in api_blueprints():
        api.register_blueprint(module.blp)
    app.extensions["offre"]["api"] = api
    from web.api import http

    http.init_app(app, app.extensions["offre"]["settings"].api_rate_limit_per_minute)
