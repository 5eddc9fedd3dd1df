"""create_app: the one place where the application is put together."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from catalogue.db import make_engine, make_sessionmaker
from web import (
    api,
    auth,
    exports,
    health,
    imports_routes,
    members,
    observability,
    search_,
    security,
)
from web.backoffice import routes as backoffice_routes
from web.backoffice import tokens as backoffice_tokens
from web.cto import prescription_steering, prescriptions
from web.cto import routes as cto_routes
from web.db import close_session
from web.orientation import attachments as orientation_attachments
from web.orientation import rights as orientation_rights
from web.orientation import routes as orientation_routes
from web.orientation import steering as orientation_steering
from web.public import routes as public_routes
from web.public import selection
from web.settings import Settings

log = logging.getLogger(__name__)

PG_INT_MAX = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` limited to PostgreSQL's integer range."""

    def __init__(self, map, fixed_digits=0, min=None, max=PG_INT_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

# Blueprints of the application, each a module with a `bp` (and maybe an
# `init_app`); one per area, registered in this order.
BLUEPRINTS = [
    observability,  # first: its before_request (request id, timer) always runs
    imports_routes,
    search_,
    health,
    security,
    public_routes,
    selection,  # a selection for the person (issue 19)
    api,
    exports,
    auth,
    members,
    backoffice_routes,
    backoffice_tokens,
    cto_routes,
    orientation_routes,
    orientation_attachments,  # files of an orientation (ORIENTATION_ATTACHMENTS)
    orientation_rights,
    orientation_steering,
    prescriptions,  # SPIE prescriptions
    prescription_steering,  # /pilotage/prescriptions
]


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    settings.check()  # refuses a weak SECRET_KEY outside development and tests
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    if settings.trusted_proxies > 0:
        # Behind n reverse proxies, the client's address (per-IP limits of the login
        # and of the API), scheme and host come from the n last X-Forwarded-* values.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    engine = make_engine(settings.database_url) if settings.database_url else None
    app.extensions["offre"] = {
        "settings": settings,
        "engine": engine,
        "sessionmaker": make_sessionmaker(engine) if engine is not None else None,
    }
    app.teardown_appcontext(close_session)

    # Ids in URLs are database integers: a larger number is an unknown page (404),
    # not a database error.
    app.url_map.converters["int"] = BoundedIntegerConverter

    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
        if hasattr(module, "init_app"):
            module.init_app(app)

    from web import access, i18n, input_guard, limits, static_files, typography

    i18n.init_app(app)  # the public pages' languages (issue #20)
    access.init_app(app)
    typography.init_app(app)
    limits.init_app(app)
    input_guard.init_app(app)
    _register_errors(app)
    static_files.init_app(app)  # compressed, hashed static files (after security's headers)

    @app.context_processor
    def inject_settings():
        return {"settings": settings}

    return app


def settings_of(app: Flask) -> Settings:
    return app.extensions["offre"]["settings"]


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _error(code: int, title: str, message: str, json_title: str | None = None):
    """An error as a problem+json document for the API and JSON clients (titled
    `json_title`, else `title`), else as the French error page."""
    if _wants_json():
        response = jsonify({"type": "about:blank", "title": json_title or title, "status": code, "detail": message})
        response.content_type = "application/problem+json"
    else:
        response = make_response(render_template("error.html", code=code, title=title, message=message))
    response.status_code = code
    return response


def _register_errors(app: Flask) -> None:
    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_unavailable(exc):
        # A restart or a network cut: say so and let the client retry; the pool
        # replaces dead connections (pool_pre_ping), so no app restart is needed.
        if isinstance(exc, DBAPIError) and not exc.connection_invalidated and not isinstance(
            exc, OperationalError
        ):
            raise exc
        log.warning("database unavailable: %s", exc.__class__.__name__)
        response = _error(503, "Service momentanément indisponible",
                          "La base de données est momentanément indisponible. Réessayez dans quelques secondes.",
                          json_title="Service indisponible")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(404)
    def not_found(exc):
        return _error(404, "Page introuvable", "Cette page n'existe pas ou plus.", json_title="Introuvable")

    @app.errorhandler(400)
    def bad_request(exc):
        return _error(400, "Requête invalide", exc.description or "Requête invalide.")

    @app.errorhandler(405)
    def method_not_allowed(exc):
        allowed = ", ".join(sorted(exc.valid_methods or []))
        method = request.method[:20]
        response = _error(405, "Méthode non autorisée",
                          f"La méthode {method} n'est pas permise à cette adresse (permises : {allowed}).")
        response.headers["Allow"] = allowed
        return response

    @app.errorhandler(413)
    def too_large(exc):
        return _error(413, "Envoi trop volumineux",
                      f"L'envoi dépasse la taille maximale autorisée ({settings_of(app).max_upload_mb} Mo).")
