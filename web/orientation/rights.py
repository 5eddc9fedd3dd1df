"""The rights of the person oriented or prescribed (GDPR articles 15 and 17),
exercised by the SPIE team (/orientations/droits): find a person's orientations and
SPIE prescriptions by their exact name and contact — typed in a POST form, never in
a URL —, export everything about them (JSON or CSV, cells neutralised) or erase it.
Each orientation found, exported or erased is logged
(catalogue.orientation_privacy.log_access), each prescription too
(catalogue.prescription.log_reads); the search typed is logged nowhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, render_template, request

from catalogue import orientation_privacy as privacy
from catalogue import permissions
from catalogue import prescription as rx
from catalogue import prescription_privacy as rx_privacy
from web.access import current_user, requires
from web.db import get_session

bp = Blueprint("orientation_rights", __name__)

rights_required = requires(
    permissions.can_use_data_rights,
    "Les droits des personnes (accès, effacement) sont exercés par l'équipe du SPIE.",
)
ACTIONS = ("chercher", "json", "csv", "effacer")


@bp.errorhandler(403)
def forbidden(exc):
    return render_template("error.html", code=403, title="Accès refusé",
                           message=exc.description or "Vous n'avez pas accès à cette page."), 403


def _page(form=None, found=None, errors=None, done: str | None = None, status: int = 200, prescriptions=None):
    return render_template("orientation/rights.html", form=form or {}, found=found, errors=errors or [],
                           done=done, prescriptions=prescriptions, statuses=rx.STATUSES,
                           cohort_label=rx.cohort_label), status


@bp.get("/orientations/droits")
@rights_required
def rights():
    return _page()


def _attachment(data: bytes, mimetype: str, extension: str):
    response = current_app.response_class(data, mimetype=mimetype)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    response.headers["Content-Disposition"] = f'attachment; filename="donnees-personne-{stamp}.{extension}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/orientations/droits")
@rights_required
def rights_action():
    form = request.form
    action = form.get("action", "chercher")
    if action not in ACTIONS:
        abort(400, description=f"action : chercher, json, csv ou effacer, reçu « {action[:40]} »")
    errors = [f"{label} : obligatoire" for name, label in (("nom", "Nom ou initiales"), ("contact", "Contact"))
              if not form.get(name, "").strip()]
    errors += [f"{label} : 300 caractères au plus" for name, label in (("nom", "Nom ou initiales"),
                                                                          ("contact", "Contact"))
               if len(form.get(name, "")) > 300]
    if action == "effacer" and form.get("confirmer") != "oui":
        errors.append("Confirmation : cochez la case pour confirmer l'effacement")
    if errors:
        return _page(form, errors=errors, status=400)
    session, user = get_session(), current_user()
    found = privacy.find_person(session, user, form["nom"], form["contact"])
    prescribed = rx_privacy.find_person(session, user, form["nom"], form["contact"])
    if action in ("json", "csv"):
        privacy.log_access(session, user, found, "export")
        rx.log_reads(session, user, prescribed, "droits-export")
        session.commit()
        if action == "csv":
            return _attachment(rx_privacy.rights_csv(session, found, prescribed), "text/csv; charset=utf-8", "csv")
        data = {**privacy.export_json(found), "prescriptions": rx_privacy.export_records(session, prescribed)}
        return _attachment(json.dumps(data, ensure_ascii=False, indent=2).encode(), "application/json", "json")
    if action == "effacer":
        count = privacy.erase_person(session, user, found)
        erased = rx_privacy.erase_person(session, user, prescribed)
        session.commit()
        return _page(done=f"{count} orientation(s) effacée(s), {erased} prescription(s) SPIE effacée(s) : "
                          "les données de la personne sont anonymisées.")
    privacy.log_access(session, user, found, "recherche")
    rx.log_reads(session, user, prescribed, "droits-recherche")
    session.commit()
    return _page(form, found=found, prescriptions=prescribed)
