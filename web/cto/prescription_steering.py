"""/pilotage/prescriptions: SPIE prescriptions by territory and cohort, and their
outcome (aggregates only: nothing that names a person), with its CSV export (cells
neutralised: catalogue.spreadsheet through catalogue.spreadsheet.rows_csv)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template

from catalogue import prescription as rx
from catalogue import spreadsheet
from web.access import steering_required
from web.db import get_session

bp = Blueprint("prescription_steering", __name__)
PARIS = ZoneInfo("Europe/Paris")
COLUMNS = ["Territoire", "Cohorte", "Prescriptions", *rx.STATUSES.values(), "Actions du plan", "Actions réalisées",
           "Part réalisée (%)"]


def _rows(session) -> list[list]:
    out = []
    for r in rx.by_cohort(session):
        share = round(100.0 * r["done"] / r["actions"], 1) if r["actions"] else None
        out.append([r["territoire"], r["cohorte_label"], r["total"], *(r[s] for s in rx.STATUSES), r["actions"],
                    r["done"], share])
    return out


@bp.get("/pilotage/prescriptions")
@steering_required
def page():
    return render_template("prescriptions/steering.html", columns=COLUMNS, rows=_rows(get_session()))


@bp.get("/pilotage/prescriptions.csv")
@steering_required
def csv():
    today = datetime.now(PARIS).date()
    body = spreadsheet.rows_csv(f"Prescriptions SPIE par cohorte et leur issue, au {today:%d/%m/%Y}", COLUMNS,
                          _rows(get_session()))
    response = current_app.response_class(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="pilotage-prescriptions-{today:%Y-%m-%d}.csv"'
    return response


@bp.errorhandler(403)
def forbidden(exc):
    return render_template("cto/forbidden.html", message=exc.description,
                           contact=current_app.extensions["offre"]["settings"].contact_email), 403
