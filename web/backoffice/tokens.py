"""API tokens of a structure in the back office (/espace/structures/<id>/jetons):
list them, create one (its plain text is shown once, on the page that answers the
creation, and never again: only its sha256 is stored), revoke one.

Who may: catalogue.permissions.can_manage_members (the structure's admins, the
moderators whose scope covers it, the administrators); anybody else gets 403, an
unknown structure or a token of another structure 404 with nothing changed. The
tokens themselves live in catalogue.tokens (the same functions as `offre token`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from catalogue import permissions, tokens
from catalogue.db import set_actor
from catalogue.errors import NotFound, ValidationError
from catalogue.models import Status, Structure
from web.access import current_user, login_required
from web.db import get_session

bp = Blueprint("tokens", __name__, url_prefix="/espace")

PARIS = ZoneInfo("Europe/Paris")
NAME_MAX = 100
INT_MAX = 2**31 - 1
NOT_YOURS = (
    "Seuls les administrateurs de cette structure, les modérateurs de son territoire "
    "et l'équipe du SPIE gèrent ses jetons d'API."
)
SCOPE_HELP = {
    "read": "relire les offres que la structure a publiées par l'API",
    "write": "créer, remplacer, archiver et relire les offres de la structure publiées par l'API",
}


@bp.errorhandler(403)
def forbidden(exc):
    message = exc.description if exc.description and "permission" not in exc.description else NOT_YOURS
    return render_template("error.html", code=403, title="Accès refusé", message=message), 403


def _managed_structure(structure_id: str) -> Structure:
    db = get_session()
    try:
        sid = uuid.UUID(structure_id)
    except ValueError:
        abort(404)
    structure = db.get(Structure, sid)
    if structure is None:
        abort(404)
    if not permissions.can_manage_members(db, current_user(), structure):
        abort(403, description=NOT_YOURS)
    return structure


def _local(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y à %H:%M") if moment else ""


def _page(structure: Structure, *, status: int = 200, form: dict | None = None,
          errors: dict[str, str] | None = None, created: dict | None = None):
    db = get_session()
    rows = tokens.tokens_of(db, structure.id)
    actors = tokens.actor_labels(db, {t.created_by for t in rows} | {t.revoked_by for t in rows})
    listed = [
        {
            "token": t,
            "scopes": [tokens.SCOPE_LABELS.get(s, s) for s in t.scopes],
            "created_at": _local(t.created_at),
            "created_by": actors.get(t.created_by or "", ""),
            "last_used_at": _local(t.last_used_at),
            "revoked_at": _local(t.revoked_at),
            "revoked_by": actors.get(t.revoked_by or "", ""),
        }
        for t in rows
    ]
    return render_template(
        "backoffice/tokens.html",
        structure=structure,
        rows=listed,
        active=sum(1 for t in rows if t.active),
        scope_labels=tokens.SCOPE_LABELS,
        scope_help=SCOPE_HELP,
        form=form or {"name": "", "scopes": ["write"]},
        errors=errors or {},
        created=created,
        archived=structure.status == Status.ARCHIVE,
        name_max=NAME_MAX,
    ), status


@bp.get("/structures/<structure_id>/jetons")
@login_required
def tokens_page(structure_id):
    return _page(_managed_structure(structure_id))


@bp.post("/structures/<structure_id>/jetons")
@login_required
def create(structure_id):
    structure = _managed_structure(structure_id)
    db = get_session()
    name = (request.form.get("name") or "").strip()
    scopes = request.form.getlist("scopes")
    errors = {}
    if not name:
        errors["name"] = "Nom du jeton : indiquez à quoi ou à qui il sert (par exemple « Logiciel de suivi des ateliers »)."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Nom du jeton : {NAME_MAX} caractères au plus (vous en avez saisi {len(name)})."
    if not scopes:
        errors["scopes"] = "Portées : cochez au moins une portée (lecture ou écriture)."
    elif unknown := [s for s in scopes if s not in tokens.SCOPES]:
        errors["scopes"] = f"Portées : « {unknown[0][:40]} » n'existe pas ; cochez lecture et/ou écriture."
    if structure.status == Status.ARCHIVE:
        errors["structure"] = "Cette structure est archivée : l'API refuse ses écritures, un jeton ne servirait à rien."
    form = {"name": name, "scopes": scopes}
    if errors:
        return _page(structure, status=400, form=form, errors=errors)
    set_actor(db, f"user:{current_user().id}")
    try:
        token, plain = tokens.create_token(
            db, structure.id, scopes=scopes, name=name, created_by=f"user:{current_user().id}"
        )
    except ValidationError as exc:  # the rules of catalogue.tokens, should they grow
        db.rollback()
        return _page(structure, status=400, form=form,
                     errors={"structure": "Jeton non créé : " + str(exc)})
    db.commit()
    # The page that shows the token must stay out of every cache (browser, proxy).
    response = make_response(*_page(structure, status=201, created={
        "token": token, "plain": plain, "scopes": [tokens.SCOPE_LABELS[s] for s in token.scopes],
    }))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.post("/structures/<structure_id>/jetons/<int:token_id>/revoquer")
@login_required
def revoke(structure_id, token_id):
    structure = _managed_structure(structure_id)
    if not 0 < token_id <= INT_MAX:  # api_token.id is an integer column
        abort(404)
    db = get_session()
    set_actor(db, f"user:{current_user().id}")
    try:
        token = db.get(tokens.ApiToken, token_id)
        already = token is not None and not token.active
        token = tokens.revoke(db, token_id, by=f"user:{current_user().id}", structure_id=structure.id)
    except NotFound:
        db.rollback()
        abort(404)
    db.commit()
    if already:
        flash(f"Le jeton « {token.name} » ({token.prefix}…) était déjà révoqué.", "success")
    else:
        flash(
            f"Jeton « {token.name} » ({token.prefix}…) révoqué : l'API le refuse désormais.", "success"
        )
    return redirect(url_for("tokens.tokens_page", structure_id=structure.id) + "#jetons"), 303
