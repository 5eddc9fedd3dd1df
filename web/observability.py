"""What an operator watches: Prometheus metrics at /metrics (closed to the public:
a bearer token, METRICS_TOKEN), and one JSON log line per request carrying a
request id (the client's X-Request-ID when well-formed, else a new one, sent back
in the response).

Metrics are prometheus_client's. Under gunicorn every worker is a process of its
own: `offre serve` sets PROMETHEUS_MULTIPROC_DIR (web/gunicorn_conf.py), the workers
write their counters there and /metrics adds them up (multiprocess mode). Gauges
read from the database (outbox, import runs, scheduled jobs, reminders) are
computed at each scrape, in whichever worker answers.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid

from flask import Blueprint, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from search.probes import DatabaseCollector

bp = Blueprint("observability", __name__)
log = logging.getLogger("offre.requests")

_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

REQUESTS = Counter(
    "offre_http_requests_total", "Requêtes HTTP servies, par route, méthode et code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "offre_http_request_duration_seconds", "Durée des requêtes HTTP, par route et méthode.",
    ["route", "method"], buckets=_BUCKETS,
)
SEARCH_SECONDS = Histogram(
    "offre_search_duration_seconds", "Durée d'une recherche, par moteur qui a répondu.",
    ["engine"], buckets=_BUCKETS,
)
MAILS = Counter("offre_mails_total", "Courriels envoyés par l'application, par résultat.", ["result"])

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def observe_search(engine: str, seconds: float) -> None:
    SEARCH_SECONDS.labels(engine=engine).observe(seconds)


def count_mail(ok: bool) -> None:
    MAILS.labels(result="envoye" if ok else "echec").inc()


@bp.get("/metrics")
def metrics():
    ext = current_app.extensions["offre"]
    token = ext["settings"].metrics_token
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "Jeton requis : en-tête Authorization: Bearer <METRICS_TOKEN>.\n", status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain",
        )
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    if ext["sessionmaker"] is not None:
        db_registry = CollectorRegistry()
        db_registry.register(DatabaseCollector(ext["sessionmaker"]))
        output += generate_latest(db_registry)
    return Response(output, mimetype=CONTENT_TYPE_LATEST)


def _start() -> None:
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    started = g.pop("request_started", None)
    if started is None:
        return response
    seconds = time.perf_counter() - started
    route = request.url_rule.rule if request.url_rule is not None else "<inconnue>"
    REQUESTS.labels(route=route, method=request.method, status=str(response.status_code)).inc()
    REQUEST_SECONDS.labels(route=route, method=request.method).observe(seconds)
    response.headers["X-Request-ID"] = g.request_id
    log.info(
        "request",
        extra={
            "request_id": g.request_id,
            "method": request.method,
            "route": route,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "remote_addr": request.remote_addr,
            "user_agent": request.user_agent.string[:200],
        },
    )
    return response


def init_app(app) -> None:
    app.before_request(_start)
    app.after_request(_finish)
