"""The partners' back office (/espace/…): a structure's dashboard, creating and
editing its offers (drafts, preview, publication, duplicate, archive, restore,
« Rien n'a changé »), the history of an offer, and the moderation queue.

Who may do what is decided by catalogue.permissions only; every write names its
actor (set_actor) so that the audit triggers record who changed what."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from catalogue import (
    freshness,
    history,
    moderation,
    permissions,
    structure_dashboard,
    takeover,
    vocabulary,
    writes,
)
from catalogue import public_queries as pq
from catalogue import service_form as forms
from catalogue.accounts import ModerationItem
from catalogue.db import set_actor
from catalogue.errors import ValidationError
from catalogue.models import LocationPrecision, Service, Status, Structure
from geo import lookup
from web.access import current_user, login_required, moderator_required
from web.db import get_session
from web.public import views as public_views

log = logging.getLogger(__name__)

bp = Blueprint("backoffice", __name__, url_prefix="/espace")

NOT_YOURS = "Cette page est réservée aux membres de la structure et aux modérateurs de son territoire."


@bp.errorhandler(403)
def forbidden(exc):
    message = exc.description if exc.description and "permission" not in exc.description else NOT_YOURS
    return render_template("error.html", code=403, title="Accès refusé", message=message), 403


def _settings():
    return current_app.extensions["offre"]["settings"]


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        abort(404)


def _structure(structure_id: str) -> Structure:
    session = get_session()
    structure = session.get(Structure, _uuid(structure_id))
    if structure is None:
        abort(404)
    if not permissions.can_edit_structure_services(session, current_user(), structure):
        abort(403, description=NOT_YOURS)
    return structure


def _service(service_id: str) -> Service:
    session = get_session()
    service = session.get(Service, _uuid(service_id))
    if service is None:
        abort(404)
    if not permissions.can_edit_structure_services(session, current_user(), service.structure):
        abort(403, description=NOT_YOURS)
    return service


def _write(session) -> None:
    set_actor(session, f"user:{current_user().id}")


def _is_moderator_of(session, structure: Structure) -> bool:
    return permissions.moderates_structure(session, current_user(), structure)


# ----------------------------------------------------------------- dashboard

@bp.get("/structures/<structure_id>")
@login_required
def dashboard(structure_id):
    session = get_session()
    structure = _structure(structure_id)
    data = structure_dashboard.dashboard(session, structure)
    return render_template(
        "backoffice/dashboard.html",
        **data,
        can_manage=permissions.can_manage_members(session, current_user(), structure),
        before_publish=_settings().moderation_before_publish,
    )


# ----------------------------------------------------------------- the form

def _form_context(session, structure: Structure, service: Service | None, values: dict,
                  errors: dict[str, list[str]] | None = None) -> dict:
    taken = takeover.taken_over(session, service.id) if service is not None else set()
    reports = moderation.open_reports(session, service.id) if service is not None and service.id else []
    return {
        "reports": reports,
        "structure": structure,
        "service": service,
        "v": values,
        "errors": errors or {},
        "error_lines": structure_dashboard.error_lines(errors or {}),
        "groups": forms.spie_thematique_groups(),
        "publics": vocabulary.publics(),
        "types": vocabulary.types(),
        "frais": vocabulary.frais(),
        "modes_accueil": vocabulary.modes_accueil(),
        "modes_mobilisation": vocabulary.modes_mobilisation(),
        "mobilisable_par": vocabulary.mobilisable_par(),
        "frequencies": forms.FREQUENCIES,
        "days": forms.DAYS,
        "imported": service is not None and takeover.is_imported(service),
        "taken": sorted(structure_dashboard.field_label(f) for f in taken),
        "before_publish": _settings().moderation_before_publish and not _is_moderator_of(session, structure),
        "has_map": True,
        "map_centre": _map_centre(session, service),
        "tiles_url": _settings().tiles_url,
        "tiles_attribution": _settings().tiles_attribution,
    }


def _map_centre(session, service: Service | None) -> tuple[float, float] | None:
    """Where the place map opens when the offer has no point yet: its commune, else
    the centre of the deploying département."""
    code = service.code_insee if service is not None else None
    return lookup.centre_of(session, code, _settings().departement_code)


def _point(session, service: Service | None):
    if service is None:
        return None
    return pq.points_of(session, [service.id]).get(service.id)


def _geocode(data: dict, service: Service | None, relocate: bool = False) -> str | None:
    """Locate the address when the point was not moved by hand and the address or
    the commune changed (or the point was emptied): the BAN if configured, else the
    commune's centre."""
    if "latitude" in data:
        return None
    changed = relocate or service is None or any(
        (data.get(k) or None) != (getattr(service, k) or None) for k in ("adresse", "code_insee")
    )
    if not changed:
        return None
    from geo.geocoding import ADDRESS, make_geocoder

    if _settings().geocoder_url and data.get("adresse"):
        found = make_geocoder(get_session(), _settings().geocoder_url).locate(data["adresse"], data.get("code_insee"))
        if found is not None and found.precision == ADDRESS:
            data["longitude"], data["latitude"] = found.lon, found.lat
            return "adresse"
    return "commune"


def _save(session, structure: Structure, service: Service | None):
    """Create or update from the posted form. Returns (service, None) or
    (None, response) when the form is shown again with its errors."""
    parsed = forms.parse(session, request.form, _settings().departement_code, service)
    if parsed.errors:
        values = forms.values_from_post(request.form, parsed)
        return None, (render_template("backoffice/service_form.html",
                                      **_form_context(session, structure, service, values, parsed.errors)), 400)
    data = parsed.data
    precision = _geocode(data, service, relocate=parsed.shown.get("relocate", False))
    if precision == "commune" and service is not None:
        service.location = None  # writes._apply puts the commune's centre
    _write(session)
    before = {k: getattr(service, k) for k in takeover.TAKEABLE if k != "location"} if service else {}
    repairs: list[str] = []
    try:
        if service is None:
            service = writes.create_service(session, structure, data, source=takeover.LOCAL_SOURCE,
                                            status=Status.BROUILLON, repairs=repairs)
        else:
            writes.update_service(session, service, data, repairs=repairs)
    except ValidationError as exc:
        session.rollback()
        values = forms.values_from_post(request.form, parsed)
        return None, (render_template("backoffice/service_form.html",
                                      **_form_context(session, structure, service if service and service.id else None,
                                                      values, exc.errors)), 400)
    for repair in repairs:  # the place made to agree with the référentiel (catalogue.places)
        flash(f"Lieu corrigé : {repair}.", "info")
    if precision == "adresse":
        service.location_precision = LocationPrecision.ADRESSE
    service.confirmed_at = datetime.now(UTC)
    changed = {k: getattr(service, k) for k, v in before.items() if getattr(service, k) != v}
    if service is not None and before and ("latitude" in data or precision):
        changed["location"] = data.get("latitude")
    takeover.record(session, service, changed)
    session.flush()
    return service, None


def _publish(session, service: Service) -> str:
    """Publish, or send to moderation first (setting moderation_before_publish)."""
    published = moderation.publish(session, service, before_publish=_settings().moderation_before_publish,
                                   reviewer=_is_moderator_of(session, service.structure))
    if not published:
        return "Offre envoyée aux modérateurs : elle sera publiée après leur relecture."
    return "Offre publiée : elle apparaît dans la recherche."


def _after_save(session, service: Service, created: bool):
    action = request.form.get("action", "brouillon")
    if action == "publier":
        message = _publish(session, service)
    elif action == "apercu":
        message = "Modifications enregistrées. Voici l'aperçu de l'offre."
    elif service.status == Status.PUBLIE:
        message = "Modifications enregistrées et publiées."
    else:
        message = "Brouillon enregistré." if created or service.status == Status.BROUILLON else "Modifications enregistrées."
    session.commit()
    flash(message, "success")
    if action == "apercu":
        return redirect(url_for("backoffice.preview", service_id=service.id))
    return redirect(url_for("backoffice.edit", service_id=service.id))


@bp.route("/structures/<structure_id>/services/nouveau", methods=["GET", "POST"])
@login_required
def new(structure_id):
    session = get_session()
    structure = _structure(structure_id)
    if request.method == "GET":
        values = forms.values_of(session, None, None)
        return render_template("backoffice/service_form.html", **_form_context(session, structure, None, values))
    service, response = _save(session, structure, None)
    if response is not None:
        return response
    return _after_save(session, service, created=True)


@bp.route("/services/<service_id>/modifier", methods=["GET", "POST"])
@login_required
def edit(service_id):
    session = get_session()
    service = _service(service_id)
    structure = service.structure
    if request.method == "GET":
        values = forms.values_of(session, service, _point(session, service))
        return render_template("backoffice/service_form.html", **_form_context(session, structure, service, values))
    saved, response = _save(session, structure, service)
    if response is not None:
        return response
    return _after_save(session, saved, created=False)


@bp.get("/services/<service_id>/apercu")
@login_required
def preview(service_id):
    session = get_session()
    service = _service(service_id)
    names = pq.zone_names(session, set(service.zone_eligibilite or []))
    detail = public_views.service_detail(service, names, public_views.now_paris())
    return render_template(
        "backoffice/preview.html", service=service, s=detail,
        status_label=structure_dashboard.STATUS_LABELS[service.status],
        pending=moderation.pending_publication(session, service),
        before_publish=_settings().moderation_before_publish and not _is_moderator_of(session, service.structure),
    )


@bp.post("/services/<service_id>/publier")
@login_required
def publish(service_id):
    session = get_session()
    service = _service(service_id)
    if service.status == Status.PUBLIE:
        flash("Cette offre est déjà publiée.", "info")
        return redirect(url_for("backoffice.edit", service_id=service.id))
    _write(session)
    message = _publish(session, service)
    session.commit()
    flash(message, "success")
    return redirect(url_for("backoffice.dashboard", structure_id=service.structure_id))


@bp.post("/services/<service_id>/dupliquer")
@login_required
def duplicate(service_id):
    session = get_session()
    service = _service(service_id)
    _write(session)
    data = {k: getattr(service, k) for k in forms.TEXT_FIELDS + forms.CHOICE_FIELDS + forms.LIST_FIELDS + forms.NUMBER_FIELDS}
    data.update(zone_eligibilite=list(service.zone_eligibilite or []), commune=service.commune,
                code_insee=service.code_insee, code_postal=service.code_postal,
                horaires_accueil=service.horaires_accueil, lien_source=None)
    data["nom"] = f"Copie de {service.nom}"[:150]
    point = _point(session, service)
    if point and service.location_precision != LocationPrecision.COMMUNE:
        data["longitude"], data["latitude"] = point
    for k, v in list(data.items()):
        if isinstance(v, list):
            data[k] = list(v)
    copy = writes.create_service(session, service.structure, data, source=takeover.LOCAL_SOURCE,
                                 status=Status.BROUILLON)
    if point and service.location_precision:
        copy.location_precision = service.location_precision
    session.commit()
    flash("Copie créée en brouillon : modifiez-la puis publiez-la.", "success")
    return redirect(url_for("backoffice.edit", service_id=copy.id))


@bp.post("/services/<service_id>/archiver")
@login_required
def archive(service_id):
    session = get_session()
    service = _service(service_id)
    _write(session)
    writes.archive(session, service)
    session.commit()
    flash(f"Offre « {service.nom} » archivée : elle n'apparaît plus dans la recherche. Vous pouvez la restaurer.", "success")
    return redirect(url_for("backoffice.dashboard", structure_id=service.structure_id))


@bp.post("/services/<service_id>/restaurer")
@login_required
def restore(service_id):
    session = get_session()
    service = _service(service_id)
    if service.status != Status.ARCHIVE:
        flash("Cette offre n'est pas archivée.", "info")
        return redirect(url_for("backoffice.dashboard", structure_id=service.structure_id))
    _write(session)
    writes.restore(session, service, Status.BROUILLON)
    session.commit()
    flash(f"Offre « {service.nom} » restaurée en brouillon : vérifiez-la, puis publiez-la.", "success")
    return redirect(url_for("backoffice.edit", service_id=service.id))


@bp.post("/services/<service_id>/confirmer")
@login_required
def confirm(service_id):
    session = get_session()
    service = _service(service_id)
    _write(session)
    freshness.confirm(session, service)
    session.commit()
    flash(f"Merci : « {service.nom} » est confirmée à jour aujourd'hui. "
          f"Prochaine vérification avant le {freshness.due_on(service).strftime('%d/%m/%Y')}.", "success")
    target = request.form.get("retour")
    if target == "moderation" and permissions.is_moderator(session, current_user()):
        return redirect(url_for("backoffice.stale"))
    return redirect(url_for("backoffice.dashboard", structure_id=service.structure_id))


@bp.get("/services/<service_id>/historique")
@login_required
def service_history(service_id):
    session = get_session()
    service = _service(service_id)
    return render_template(
        "backoffice/history.html", service=service, record=service, entries=history.history(session, service),
        imported=takeover.is_imported(service), paris=public_views.PARIS,
    )


@bp.get("/structures/<structure_id>/historique")
@login_required
def structure_history(structure_id):
    session = get_session()
    structure = _structure(structure_id)
    return render_template(
        "backoffice/history.html", record=structure, entries=history.history(session, structure),
        imported=structure.source != takeover.LOCAL_SOURCE, paris=public_views.PARIS, structure=structure,
    )


# ----------------------------------------------------------------- moderation

@bp.get("/moderation")
@moderator_required
def queue():
    session = get_session()
    user = current_user()
    added = moderation.sync_duplicates(session)
    if added:
        session.commit()
    status = request.args.get("etat", moderation.A_TRAITER)
    if status not in (moderation.A_TRAITER, moderation.TRAITE):
        status = moderation.A_TRAITER
    entries = moderation.queue(session, user, status=status)
    decisions = {e.item.id: moderation.decisions_of(session, e.item) for e in entries} if status == moderation.TRAITE else {}
    return render_template(
        "backoffice/moderation.html", entries=entries, status=status, decisions=decisions,
        kind_labels=moderation.KIND_LABELS, decision_labels=moderation.DECISION_LABELS,
        allowed=moderation.allowed_decisions, errors={}, before_publish=_settings().moderation_before_publish,
        status_labels=structure_dashboard.STATUS_LABELS,
    )


@bp.post("/moderation/elements/<int:item_id>")
@moderator_required
def decide(item_id):
    session = get_session()
    user = current_user()
    item = session.get(ModerationItem, item_id)
    if item is None:
        abort(404)
    if not moderation.item_in_scope(session, user, item):
        abort(403, description="Cet élément ne relève pas de votre territoire de modération.")
    _write(session)
    try:
        moderation.decide(session, user, item, request.form.get("decision", ""),
                          comment=request.form.get("commentaire"), target_id=request.form.get("cible"))
    except ValidationError as exc:
        session.rollback()
        for line in structure_dashboard.error_lines(exc.errors):
            flash(line, "error")
        return redirect(url_for("backoffice.queue") + f"#element-{item_id}")
    session.commit()
    flash("Décision enregistrée.", "success")
    return redirect(url_for("backoffice.queue"))


@bp.get("/moderation/offres-a-verifier")
@moderator_required
def stale():
    session = get_session()
    communes = moderation.scope_communes(session, current_user())
    services, total = moderation.stale_in_scope(session, communes)
    rows = [{"service": s, "due_on": freshness.due_on(s), "last": freshness.last_confirmation(s)} for s in services]
    return render_template("backoffice/stale.html", rows=rows, total=total)
