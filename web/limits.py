"""Abuse limits of the public routes that cost CPU or send e-mails: one table, by
endpoint, applied by Flask-Limiter.

Counters live in PostgreSQL (catalogue.ratelimit, the same for every gunicorn
worker), or in Redis/Memcached when RATELIMIT_STORAGE_URI names one. A request over
a limit gets a French page (or problem+json under /api/) with status 429 and
Retry-After. Each limit is a setting in the syntax of `limits` ("5/minute;30/hour");
an empty setting turns that limit off.

The API's own quota per token and per address is web.api.http; failed logins and
account e-mails per address are counted in catalogue.mail_limits.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from flask import current_app, jsonify, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded

from catalogue import ratelimit  # noqa: F401  (registers the offre-database:// storage)
from web.auth.sessions import client_ip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteLimit:
    endpoint: str
    setting: str  # name of the Settings field holding the limit string
    methods: tuple[str, ...] = ("GET",)
    per: str = "ip"  # "ip", or "view_arg:<name>" (e.g. one offer, whoever asks)


# Every expensive or mail-sending public route. A test checks that every export and
# every route that sends a mail to an address typed by a visitor is in this table.
ROUTE_LIMITS: tuple[RouteLimit, ...] = (
    RouteLimit("exports.export_csv", "export_rate_limit"),
    RouteLimit("exports.export_xlsx", "export_rate_limit"),
    RouteLimit("exports.export_pdf", "pdf_rate_limit"),
    RouteLimit("public.report_error", "report_rate_limit", ("POST",)),
    RouteLimit("public.report_error", "report_rate_limit_per_offer", ("POST",), per="view_arg:service_id"),
    RouteLimit("auth.register", "account_mail_rate_limit", ("POST",)),
    RouteLimit("auth.forgot_password", "account_mail_rate_limit", ("POST",)),
    # A selection for the person (web/public/selection.py): its PDFs count with the
    # search's, its e-mails and its short links have their own limits.
    RouteLimit("selection.pdf", "pdf_rate_limit"),
    RouteLimit("selection.shared_pdf", "pdf_rate_limit"),
    RouteLimit("selection.send", "selection_mail_rate_limit", ("POST",)),
    RouteLimit("selection.share", "selection_share_rate_limit", ("POST",)),
)


def _key(per: str):
    if per == "ip":
        return client_ip
    name = per.removeprefix("view_arg:")

    def key() -> str:
        value = str((request.view_args or {}).get(name, ""))
        try:
            value = str(uuid.UUID(value))  # one offer, however its id is written
        except ValueError:
            pass
        return f"{name}:{value}"[:200]

    return key


def init_app(app) -> None:
    settings = app.extensions["offre"]["settings"]
    engine_ready = app.extensions["offre"]["sessionmaker"] is not None
    uri = settings.ratelimit_storage_uri
    options = {}
    if not uri:
        if not engine_ready:
            return  # no database (some CLI commands): nothing to count in
        uri = f"{ratelimit.SCHEME}://"
        # A new session per hit, not the request's: a counter is committed even
        # when the request fails. Looked up per call: tests rebind the sessionmaker.
        options["sessions"] = lambda: current_app.extensions["offre"]["sessionmaker"]()
    limiter = Limiter(
        key_func=client_ip,
        app=app,
        storage_uri=uri,
        storage_options=options,
        strategy="fixed-window",
        headers_enabled=True,
        key_prefix="offre",
        # A counter store that fails (database away) lets requests through, logged.
        swallow_errors=True,
    )
    app.extensions["offre"]["limiter"] = limiter
    for rule in ROUTE_LIMITS:
        spec = getattr(settings, rule.setting)
        view = app.view_functions.get(rule.endpoint)
        if not spec or view is None:
            continue
        # Shared by the routes of one setting: CSV and Excel count together.
        app.view_functions[rule.endpoint] = limiter.shared_limit(
            spec, scope=f"{rule.setting}:{rule.per}", key_func=_key(rule.per), methods=list(rule.methods),
        )(view)

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(exc: RateLimitExceeded):
        retry = _retry_after(exc)
        message = (
            f"Trop de demandes depuis votre connexion pour cette page ({_describe(exc.limit.limit)} au plus). "
            f"Réessayez dans {_in_words(retry)}."
        )
        if exc.limit.key_func is not client_ip:
            message = (
                f"Cette offre a reçu trop de signalements récemment ({_describe(exc.limit.limit)} au plus) : "
                "l'équipe du SPIE les examine déjà. Merci, et réessayez plus tard si l'erreur reste."
            )
        log.info("rate limit %s reached on %s", exc.limit.limit, request.endpoint)
        if request.path.startswith("/api/"):
            response = jsonify({"type": "about:blank", "title": "Trop de requêtes", "status": 429, "detail": message})
            response.content_type = "application/problem+json"
        else:
            response = app.make_response(
                render_template("error.html", code=429, title="Trop de demandes", message=message)
            )
        response.status_code = 429
        response.headers["Retry-After"] = str(retry)
        return response


def _retry_after(exc: RateLimitExceeded) -> int:
    """Seconds until the window of the limit reached ends."""
    limiter = current_app.extensions["offre"]["limiter"]
    for current in limiter.current_limits:
        if current.breached and current.limit is exc.limit.limit:
            return max(1, int(current.reset_at - time.time()))
    return int(exc.limit.limit.get_expiry())


_UNITS = {"second": "seconde", "minute": "minute", "hour": "heure", "day": "jour", "month": "mois", "year": "an"}


def _describe(item) -> str:
    unit = _UNITS.get(item.GRANULARITY.name, item.GRANULARITY.name)
    per = f"{item.multiples} {unit}s" if item.multiples > 1 and unit != "mois" else f"{unit}"
    article = "par" if item.multiples == 1 else "en"
    return f"{item.amount} {article} {per}"


def _in_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} secondes"
    if seconds < 7200:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} heures"
