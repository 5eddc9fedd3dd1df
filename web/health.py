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

from flask import Blueprint, current_app, jsonify

from search import probes

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    ext = current_app.extensions["offre"]
    settings = ext["settings"]
    report: dict = {"database": probes.database_check(ext["engine"])}
    if report["database"]["status"] == "ok":
        search_check = ext.get("search_health")
        report["search"] = (search_check() if search_check is not None
                            else {"status": "ok", "backend": settings.search_backend})
        report["outbox"] = probes.outbox_check(ext["sessionmaker"], settings.health_outbox_max_age_s)
    overall = probes.overall(report)
    report = {"status": overall, **report}
    return jsonify(report), (503 if overall == "down" else 200)
