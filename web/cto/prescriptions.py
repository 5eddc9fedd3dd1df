"""SPIE prescriptions, the web side (catalogue/prescription.py holds the rules):

- /prescriptions/nouvelle: a referent of any partner prescribes a person;
- /prescriptions: « Mes prescriptions », their statuses and the plan's progress;
- /prescriptions/<id>: one prescription, for its prescriber and the SPIE team of
  its territory (404 for anybody else, as for an unknown id);
- /cto/prescriptions…: the SPIE team's list, and its work: a prescription put on
  a committee's agenda (a CTO situation with a pseudonymous reference), the plan
  decided in committee, the closing.

Every page showing a person's data logs the read (catalogue.prescription.log_reads);
URLs carry random public ids, never a name or a sequential id."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from catalogue import orientation as orientation_rules
from catalogue import permissions, vocabulary
from catalogue import prescription as rx
from catalogue import public_queries as pq
from catalogue.errors import ValidationError
from web.access import current_user, requires
from web.db import get_session
from web.orientation import notify

bp = Blueprint("prescriptions", __name__)
PARIS = ZoneInfo("Europe/Paris")

prescriber_required = requires(
    permissions.can_prescribe,
    "Prescrire vers le SPIE est réservé aux professionnels membres d'une structure partenaire.",
)
spie_team_required = requires(
    permissions.is_spie_team,
    "Les prescriptions d'un territoire sont réservées à l'équipe du SPIE de ce territoire.",
)
FIELD_NAMES = {
    "territoire": "Territoire", "cohorte": "Cohorte", "personne_nom": "Nom ou initiales de la personne",
    "personne_contact": "Contact de la personne", "code_commune": "Commune", "situation": "Situation",
    "freins": "Freins", "jours": "Jours disponibles", "disponibilites": "Disponibilités",
    "referent_nom": "Votre nom", "referent_telephone": "Votre téléphone", "referent_courriel": "Votre courriel",
    "referent_structure": "Votre structure", "consentement": "Accord de la personne",
    "consentement_par": "Accord donné par", "consentement_date": "Date de l'accord", "comite": "Comité",
    "reference": "Référence interne", "situation_cto": "Situation", "type": "Type d'action",
    "frein": "Frein", "offre": "Offre", "description": "Action", "statut": "Statut", "motif": "Motif",
}


@bp.errorhandler(403)
def forbidden(exc):
    """An HTML page saying who to ask (as the CTO's)."""
    return render_template("cto/forbidden.html", message=exc.description,
                           contact=current_app.extensions["offre"]["settings"].contact_email), 403


def _now() -> datetime:
    return datetime.now(PARIS)


def _today() -> date:
    return _now().date()


def messages(exc: ValidationError) -> dict[str, str]:
    """field -> « Nom du champ : raison »."""
    return {k: f"{FIELD_NAMES.get(k, k)} : {', '.join(v)}" for k, v in exc.errors.items()}


def _form_data() -> dict:
    data = {k: request.form.get(k, "") for k in request.form if k not in ("freins", "jours")}
    data["freins"] = request.form.getlist("freins")
    data["jours"] = request.form.getlist("jours")
    return data


def _form_page(form: dict, errors: dict | None = None, status: int = 200):
    session = get_session()
    return render_template(
        "prescriptions/form.html", form=form, errors=errors or {}, territories=rx.territories(session),
        cohorts=rx.cohort_choices(_today()), groups=vocabulary.spie_groups(), days=rx.DAYS,
        consent_by=rx.CONSENT_BY, purpose=rx.CONSENT_PURPOSE, today=_today(),
    ), status


@bp.get("/prescriptions/nouvelle")
@prescriber_required
def new():
    user = current_user()
    return _form_page({"referent_nom": user.nom or "", "referent_courriel": user.email,
                       "consentement_date": _today().isoformat(), "freins": [], "jours": []})


@bp.post("/prescriptions/nouvelle")
@prescriber_required
def create():
    session = get_session()
    data = _form_data()
    try:
        found = rx.create(session, current_user(), data, _today(), _now())
    except ValidationError as exc:
        session.rollback()
        return _form_page(data, messages(exc), 400)
    session.commit()
    flash("Prescription envoyée à l'équipe du SPIE du territoire. Vous suivez son avancement ici.", "success")
    return redirect(url_for("prescriptions.detail", public_id=found.public_id)), 303


@bp.get("/prescriptions")
@prescriber_required
def mine():
    session = get_session()
    user = current_user()
    found = rx.of_prescriber(session, user)
    rx.log_reads(session, user, found, "mes-prescriptions")
    session.commit()
    return render_template("prescriptions/mine.html", prescriptions=found, statuses=rx.STATUSES,
                           progress=rx.progress, cohort_label=rx.cohort_label)


def _readable(session, public_id: uuid.UUID) -> rx.Prescription:
    found = rx.by_public_id(session, public_id)
    if found is None or not permissions.can_read_prescription(session, current_user(), found):
        abort(404)
    return found


def _manageable(session, public_id: uuid.UUID) -> rx.Prescription:
    found = rx.by_public_id(session, public_id)
    if found is None or not permissions.can_manage_prescription(session, current_user(), found):
        abort(404)
    return found


@bp.get("/prescriptions/<uuid:public_id>")
@prescriber_required
def detail(public_id):
    session = get_session()
    found = _readable(session, public_id)
    user = current_user()
    manage = permissions.can_manage_prescription(session, user, found)
    rx.log_reads(session, user, [found], "fiche")
    session.commit()
    return render_template(
        "prescriptions/detail.html", p=found, manage=manage, statuses=rx.STATUSES,
        action_kinds=rx.ACTION_KINDS, action_statuses=rx.ACTION_STATUSES, consent_by=rx.CONSENT_BY,
        territory=rx.territory_name(session, found.territory_slug), cohort=rx.cohort_label(found.cohort),
        commune=pq.commune(session, found.code_commune) if found.code_commune else None,
        groups=vocabulary.spie_group_by_code(), progress=rx.progress(found),
        committees=rx.coming_committees(session, found.territory_slug, _today()) if manage else [],
        reads=rx.reads_of(session, found) if manage else [],
    )


# --- the SPIE team ---------------------------------------------------------------------------

@bp.get("/cto/prescriptions")
@spie_team_required
def team():
    session = get_session()
    user = current_user()
    status = request.args.get("statut", "")
    if status and status not in rx.STATUSES:
        abort(400, description=f"statut : statut inconnu « {status[:20]} »")
    territories = permissions.spie_territories(session, user)
    found = rx.of_territories(session, territories, status or None)
    rx.log_reads(session, user, found, "liste-equipe")
    session.commit()
    names = dict(rx.territories(session))
    return render_template("prescriptions/team.html", prescriptions=found, statuses=rx.STATUSES, status=status,
                           progress=rx.progress, cohort_label=rx.cohort_label, names=names)


def _back(found: rx.Prescription, anchor: str = ""):
    return redirect(url_for("prescriptions.detail", public_id=found.public_id) + anchor), 303


def _refused(found: rx.Prescription, exc: ValidationError, anchor: str):
    get_session().rollback()
    for message in messages(exc).values():
        flash(message, "error")
    return _back(found, anchor)


@bp.post("/cto/prescriptions/<uuid:public_id>/comite")
@spie_team_required
def to_committee(public_id):
    """One click: the prescription becomes a situation on the committee's agenda."""
    session = get_session()
    found = _manageable(session, public_id)
    raw = request.form.get("comite", "")
    try:
        committee = rx.committee_by_public_id(session, uuid.UUID(raw))
    except ValueError:
        abort(400, description=f"comite : identifiant de comité invalide « {raw[:40]} »")
    if committee is None:
        abort(400, description="comite : comité inconnu")
    try:
        situation = rx.to_committee(session, found, committee, current_user(), _today())
    except ValidationError as exc:
        return _refused(found, exc, "#titre-comite")
    session.commit()
    flash(f"Situation inscrite à l'ordre du jour du comité du {committee.date:%d/%m/%Y} sous la référence "
          f"« {situation.reference} » (sans le nom de la personne).", "success")
    return _back(found)


@bp.post("/cto/prescriptions/<uuid:public_id>/plan")
@spie_team_required
def plan_add(public_id):
    session = get_session()
    found = _manageable(session, public_id)
    try:
        action = rx.add_action(session, found, current_user(), request.form.to_dict())
    except ValidationError as exc:
        return _refused(found, exc, "#titre-plan")
    session.commit()
    if action.orientation_id is not None:
        orientation = orientation_rules.by_public_id(session, action.orientation_id)
        notify.orientation_sent(current_app.extensions["offre"]["settings"], session, orientation)
        flash("Action ajoutée au plan ; l'orientation est envoyée à la structure, le référent suit sa réponse.",
              "success")
        return _back(found, "#titre-plan")
    flash("Action ajoutée au plan.", "success")
    return _back(found, "#titre-plan")


@bp.post("/cto/prescriptions/<uuid:public_id>/plan/<uuid:action_id>")
@spie_team_required
def plan_status(public_id, action_id):
    session = get_session()
    found = _manageable(session, public_id)
    action = rx.action_by_public_id(found, action_id)
    if action is None:
        abort(404)
    try:
        rx.set_action_status(action, request.form.get("statut", ""))
    except ValidationError as exc:
        return _refused(found, exc, "#titre-plan")
    session.commit()
    flash("Statut de l'action enregistré.", "success")
    return _back(found, "#titre-plan")


@bp.post("/cto/prescriptions/<uuid:public_id>/statut")
@spie_team_required
def status(public_id):
    session = get_session()
    found = _manageable(session, public_id)
    try:
        rx.close(found, request.form.get("statut", ""), request.form.get("motif"))
    except ValidationError as exc:
        return _refused(found, exc, "#titre-statut")
    session.commit()
    flash(f"Statut : {rx.STATUSES[found.status]}.", "success")
    return _back(found)


def _can_prescribe() -> bool:
    user = current_user()
    return user is not None and permissions.can_prescribe(get_session(), user)


def _is_spie_team() -> bool:
    user = current_user()
    return user is not None and permissions.is_spie_team(get_session(), user)


def init_app(app) -> None:
    app.jinja_env.globals["can_prescribe"] = _can_prescribe
    app.jinja_env.globals["is_spie_team"] = _is_spie_team
