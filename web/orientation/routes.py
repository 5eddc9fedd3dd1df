"""Orientations: the referent's form (from an offer's page) and list « Mes
orientations », the receiving structure's inbox, an orientation's page with its
answers (accept, refuse with a reason, ask for information; the referent answers).

Who reads what is catalogue.permissions' question (section « orientations »): an
orientation one may not read is a 404, whether it exists or not. Every page that
shows a person's data logs the read (catalogue.orientation_privacy.log_access).
URLs carry the orientation's random public id; the person's data travel only in
POST bodies, never in a URL, a log line or an e-mail."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from catalogue import orientation as orientations
from catalogue import orientation_attachment as attachment_files
from catalogue import orientation_privacy as privacy
from catalogue import permissions
from catalogue.errors import ValidationError
from catalogue.models import Service
from web.access import current_user, login_required
from web.db import get_session
from web.orientation import attachments, notify

bp = Blueprint("orientation", __name__)

FIELDS = {"nom": "Nom ou initiales", "contact": "Contact de la personne", "besoins": "Besoins",
          "message": "Message", "consentement": "Accord de la personne", "offre": "Offre",
          "motif": "Motif du refus", "precisions": "Précisions", "question": "Question",
          "reponse": "Réponse", "statut": "Statut", "decision": "Décision",
          "pieces_jointes": attachments.LABEL}


@bp.errorhandler(403)
def forbidden(exc):
    return render_template("error.html", code=403, title="Accès refusé",
                           message=exc.description or "Vous n'avez pas accès à cette page."), 403


def _settings():
    return current_app.extensions["offre"]["settings"]


def errors_of(exc: ValidationError) -> list[str]:
    return [f"{FIELDS.get(k, k)} : {m}" for k, msgs in exc.errors.items() for m in msgs]


def _no_files() -> None:
    attachments.refuse_files()


def _service_or_404(session, service_id: uuid.UUID) -> Service:
    service = session.get(Service, service_id)
    if service is None or not permissions.is_public(service):
        abort(404)
    if not permissions.can_orient(session, current_user(), service):
        abort(403, description="Cette offre ne reçoit pas d'orientation de professionnels : suivez « Comment en "
                               "bénéficier » sur sa page.")
    return service


def _form(service: Service, form=None, errors: list[str] | None = None, status: int = 200):
    session = get_session()
    return render_template(
        "orientation/new.html", service=service, form=form or {}, errors=errors or [],
        needs=orientations.need_choices(service), purpose=orientations.consent_purpose(service),
        receivers=len(orientations.receivers(session, service.structure_id)),
        chosen=set(form.getlist("besoins")) if form else set(),
        attachments_on=attachments.enabled(), max_files=attachment_files.MAX_FILES, max_kb=attachments.max_kb(),
    ), status


@bp.get("/services/<uuid:service_id>/orienter")
@login_required
def new(service_id):
    return _form(_service_or_404(get_session(), service_id))


@bp.post("/services/<uuid:service_id>/orienter")
@login_required
def create(service_id):
    try:
        uploads = attachments.uploads()
        upload_errors = []
    except ValidationError as exc:
        uploads, upload_errors = [], errors_of(exc)
    session = get_session()
    service = _service_or_404(session, service_id)
    if orientations.sent_in_the_last_hour(session, current_user()) >= orientations.MAX_PER_HOUR:
        return render_template("error.html", code=429, title="Trop d'orientations",
                               message=f"Vous avez envoyé {orientations.MAX_PER_HOUR} orientations dans l'heure : "
                                       "réessayez plus tard, ou écrivez à l'équipe du SPIE."), 429
    form = request.form
    person = orientations.Person(nom=form.get("nom", ""), contact=form.get("contact", ""))
    try:
        found = orientations.create_orientation(
            session, referent=current_user(), service=service, person=person, needs=form.getlist("besoins"),
            message=form.get("message"), consent=form.get("consentement") == "oui",
        )
        if upload_errors:
            raise ValidationError({})
        attachment_files.attach(session, found, uploads)
    except ValidationError as exc:
        session.rollback()
        return _form(service, form, errors_of(exc) + upload_errors, 400)
    session.commit()
    if notify.orientation_sent(_settings(), session, found):
        flash(f"Orientation envoyée à {service.structure.nom} : ses membres sont prévenus par courriel.", "success")
    else:
        flash("Orientation enregistrée, mais le courriel n'a pas pu partir : la structure la trouvera "
              "dans ses orientations reçues.", "error")
    return redirect(url_for(".detail", orientation_id=found.public_id))


@bp.get("/orientations")
@login_required
def mine():
    session = get_session()
    found = orientations.sent_by(session, current_user())
    privacy.log_access(session, current_user(), found, "liste")
    session.commit()
    return render_template("orientation/mine.html", orientations=found, reasons=orientations.REFUSAL_REASONS)


@bp.get("/orientations/recues")
@login_required
def inbox():
    session = get_session()
    found = orientations.received_by(session, current_user())
    privacy.log_access(session, current_user(), found, "liste")
    session.commit()
    return render_template("orientation/inbox.html", orientations=found, reasons=orientations.REFUSAL_REASONS,
                           waiting=sum(1 for o in found if o.status == orientations.State.ENVOYEE))


def _readable_or_404(session, orientation_id: uuid.UUID):
    found = orientations.by_public_id(session, orientation_id)
    if found is None or not permissions.can_read_orientation(session, current_user(), found):
        abort(404)
    return found


def _detail_page(session, found, errors: list[str] | None = None, form=None, status: int = 200):
    user = current_user()
    privacy.log_access(session, user, [found], "detail")
    session.commit()
    spie = permissions.can_handle_personal_data(session, user, found)
    return render_template(
        "orientation/detail.html", o=found, errors=errors or [], form=form or {},
        can_answer=permissions.can_answer_orientation(session, user, found),
        can_reply=permissions.can_reply_orientation(user, found) and found.status == orientations.State.INFORMATIONS,
        is_referent=found.referent_id == user.id, reasons=orientations.REFUSAL_REASONS,
        needs=orientations.need_choices(found.service) if found.service else {},
        accesses=privacy.accesses(session, found) if spie else None,
        attachments=attachment_files.of(session, found),
    ), status


@bp.get("/orientations/<uuid:orientation_id>")
@login_required
def detail(orientation_id):
    session = get_session()
    return _detail_page(session, _readable_or_404(session, orientation_id))


DECISIONS = ("accepter", "refuser", "demander")


@bp.post("/orientations/<uuid:orientation_id>/decision")
@login_required
def decide(orientation_id):
    _no_files()
    session = get_session()
    found = _readable_or_404(session, orientation_id)
    user = current_user()
    if not permissions.is_orientation_receiver(session, user, found):
        abort(403, description="Seuls les membres de la structure qui reçoit l'orientation y répondent.")
    decision = request.form.get("decision", "")
    if decision not in DECISIONS:
        abort(400, description=f"decision : accepter, refuser ou demander, reçu « {decision[:40]} »")
    form = request.form
    try:
        if decision == "accepter":
            orientations.accept(session, found, user, form.get("message"))
        elif decision == "refuser":
            orientations.refuse(session, found, user, form.get("motif", ""), form.get("precisions"))
        else:
            orientations.ask_information(session, found, user, form.get("question", ""))
    except ValidationError as exc:
        session.rollback()
        return _detail_page(session, _readable_or_404(session, orientation_id), errors_of(exc), form, 400)
    session.commit()
    kind = found.events[-1].kind
    mailed = notify.orientation_decided(_settings(), found, kind)
    flash(f"{orientations.EVENT_LABELS[kind]} ; le référent est prévenu"
          + (" par courriel." if mailed else " (le courriel n'a pas pu partir : il le verra dans ses orientations)."),
          "success" if mailed else "error")
    return redirect(url_for(".detail", orientation_id=found.public_id))


@bp.post("/orientations/<uuid:orientation_id>/reponse")
@login_required
def reply(orientation_id):
    _no_files()
    session = get_session()
    found = _readable_or_404(session, orientation_id)
    if found.referent_id != current_user().id:
        abort(403, description="Seul le référent qui a envoyé l'orientation y répond.")
    try:
        orientations.answer(session, found, current_user(), request.form.get("reponse", ""))
    except ValidationError as exc:
        session.rollback()
        return _detail_page(session, _readable_or_404(session, orientation_id), errors_of(exc), request.form, 400)
    session.commit()
    mailed = notify.orientation_answered(_settings(), session, found)
    flash("Réponse envoyée à la structure" + (", prévenue par courriel." if mailed else
                                              " (le courriel n'a pas pu partir)."), "success" if mailed else "error")
    return redirect(url_for(".detail", orientation_id=found.public_id))


def orientation_link(service_id) -> str | None:
    """The « Orienter une personne » link of an offer's page: for a professional,
    when the offer is orientable (a Jinja global, so that the public page's view
    stays as it is)."""
    user = current_user()
    if user is None or not permissions.is_professional(user):
        return None
    try:
        service_id = uuid.UUID(str(service_id))
    except ValueError:
        return None
    session = get_session()
    service = session.get(Service, service_id)
    if service is None or not permissions.can_orient(session, user, service):
        return None
    return url_for("orientation.new", service_id=service.id)


def init_app(app) -> None:
    app.jinja_env.globals["orientation_link"] = orientation_link
