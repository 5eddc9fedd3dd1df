"""/pilotage/orientations: the orientations by SPIE thematic, territory and
structure, the acceptance rate, the time to answer, the refusals by reason; each
table as CSV (cells neutralised). Aggregates only, for the SPIE team and the CTO
members (permissions.can_see_steering), like the rest of /pilotage."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, current_app, render_template, request

from catalogue import orientation_stats as stats
from catalogue import spreadsheet
from catalogue.schemas import parse_int
from web.access import steering_required
from web.db import get_session

bp = Blueprint("orientation_steering", __name__)
DEFAULT_WEEKS = 52
TABLES = {"thematiques": "Thématique du SPIE", "territoires": "Territoire", "structures": "Structure"}


@bp.errorhandler(403)
def forbidden(exc):
    """An HTML page saying who to ask, as for the rest of /pilotage."""
    message = exc.description if exc.description and "permission" not in exc.description else (
        "Le pilotage est réservé à l'équipe du SPIE et aux membres des comités techniques (CTO).")
    contact = current_app.extensions["offre"]["settings"].contact_email
    return render_template("cto/forbidden.html", message=message, contact=contact), 403


def _weeks() -> int:
    raw = (request.args.get("semaines") or str(DEFAULT_WEEKS)).strip()
    weeks = parse_int(raw)
    if weeks is None or not 1 <= weeks <= 520:
        abort(400, description=f"semaines : un nombre de semaines entre 1 et 520, reçu « {raw[:20]} »")
    return weeks


@bp.get("/pilotage/orientations")
@steering_required
def page():
    weeks = _weeks()
    data = stats.figures(get_session(), date.today() - timedelta(weeks=weeks))
    return render_template("orientation/steering.html", weeks=weeks, columns=stats.COLUMNS, tables=TABLES, **data)


@bp.get("/pilotage/orientations.csv")
@steering_required
def csv():
    weeks = _weeks()
    table = request.args.get("tableau", "thematiques")
    if table not in (*TABLES, "motifs"):
        abort(400, description=f"tableau : thematiques, territoires, structures ou motifs, reçu « {table[:40]} »")
    data = stats.figures(get_session(), date.today() - timedelta(weeks=weeks))
    title = f"Orientations envoyées depuis {weeks} semaines, au {date.today():%d/%m/%Y}"
    if table == "motifs":
        body = spreadsheet.rows_csv(title + " : refus par motif", ["Motif", "Refus", "Part des refus (%)"],
                              [[r["label"], r["count"], "" if r["pct"] is None else r["pct"]] for r in data["reasons"]])
    else:
        key = {"thematiques": "groups", "territoires": "territories", "structures": "structures"}[table]
        body = spreadsheet.rows_csv(f"{title} : par {TABLES[table][0].lower()}{TABLES[table][1:]}", [TABLES[table], *stats.COLUMNS],
                              [t.as_row() for t in [*data[key], data["total"]]])
    response = current_app.response_class(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="orientations-{table}-{date.today():%Y-%m-%d}.csv"'
    return response
