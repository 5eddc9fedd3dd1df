"""/healthz: each dependency checked for real, as JSON.

- database: a query (`select 1`), timed;
- search: the configured engine's own check (PostgreSQL: its search table read;
  Meilisearch: reachable, its index present; when it is not, PostgreSQL answers and
  the state is "degraded");
- outbox: the age of the oldest change not yet indexed (an external engine only):
  past HEALTH_OUTBOX_MAX_AGE_S the search no longer follows the catalogue ("down").

The answer is 503 when any part is "down" (a load balancer takes the instance out,
a monitor alerts), 200 otherwise, with "degraded" telling what still works."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, jsonify

from catalogue import operations
from search import sync

bp = Blueprint("health", __name__)


def _database(engine) -> dict:
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            operations.ping(conn)
    except Exception as exc:  # any failure means "down" here, with its kind
        return {"status": "down", "error": exc.__class__.__name__}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


def _outbox(sessions, max_age_s: int) -> dict:
    try:
        with sessions() as conn:
            stats = sync.outbox_stats(conn)
    except Exception as exc:
        return {"status": "down", "error": exc.__class__.__name__}
    age = round(stats.oldest_age_s, 1)
    report = {"rows": stats.rows, "oldest_age_s": age, "max_age_s": max_age_s}
    if age > max_age_s:
        return {"status": "down", **report,
                "error": "des changements attendent l'indexation depuis trop longtemps"}
    return {"status": "ok", **report}


@bp.get("/healthz")
def healthz():
    ext = current_app.extensions["offre"]
    settings = ext["settings"]
    report: dict = {"database": _database(ext["engine"])}
    if report["database"]["status"] == "ok":
        search_check = ext.get("search_health")
        report["search"] = (search_check() if search_check is not None
                            else {"status": "ok", "backend": settings.search_backend})
        report["outbox"] = _outbox(ext["sessionmaker"], settings.health_outbox_max_age_s)
    states = [part["status"] for part in report.values()]
    if "down" in states:
        overall = "down"
    elif all(s == "ok" for s in states):
        overall = "ok"
    else:
        overall = "degraded"
    report = {"status": overall, **report}
    return jsonify(report), (503 if overall == "down" else 200)
