"""/healthz: the state of the database and of the search engine, as JSON."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

bp = Blueprint("health", __name__)

# Other parts of the app register extra checks here: name -> callable(app) -> dict
# with at least "status" ("ok", "degraded" or "down").
CHECKS: dict = {}


@bp.get("/healthz")
def healthz():
    ext = current_app.extensions["offre"]
    report: dict = {}
    try:
        with ext["engine"].connect() as conn:
            conn.execute(text("select 1"))
        report["database"] = {"status": "ok"}
    except Exception as exc:  # any failure means "down" here, with its kind
        report["database"] = {"status": "down", "error": exc.__class__.__name__}
    search_check = ext.get("search_health")
    if search_check is not None:
        report["search"] = search_check()
    else:
        report["search"] = {"status": "ok", "backend": ext["settings"].search_backend}
    states = [part["status"] for part in report.values()]
    if report["database"]["status"] == "down":
        overall = "down"
    elif all(s == "ok" for s in states):
        overall = "ok"
    else:
        overall = "degraded"
    report = {"status": overall, **report}
    return jsonify(report), (503 if overall == "down" else 200)
