"""Accounts: registration, e-mail verification, login (password or OpenID Connect),
logout, password reset, and the user's home (/espace).

Signed links (verification, reset, invitation) are itsdangerous tokens made with
SECRET_KEY, each with its own salt and lifetime. A reset link carries a
fingerprint of the current password hash, so it works once: setting the new
password changes the hash and voids the link.

Login rotates the session: it is cleared (old data, CSRF token included, is
gone) before user_id and a fresh auth_nonce are written. The nonce names a row of
user_session (catalogue/user_sessions.py), checked on every request (web/access.py):
logout, a new password or an administrator delete it, and every copy of the cookie
dies with it. Failed logins slow down further tries (catalogue/login_limits.py).

The OpenID Connect routes are in web/auth/oidc_routes.py (same blueprint), the
signed links and e-mails in web/auth/links.py, the session in web/auth/sessions.py;
the rules in catalogue.passwords, catalogue.signed_links, catalogue.mail_limits and
catalogue.oidc."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from catalogue import account_queries, login_limits, members, permissions, user_sessions
from catalogue.accounts import (
    Role,
    User,
)
from catalogue.db import set_actor
from catalogue.mail_limits import MAIL_WINDOW, TOO_MANY_MAILS
from catalogue.oidc import OidcError, discovery
from catalogue.passwords import (
    EMAIL_MAX,
    NOM_MAX,
    PASSWORD_MAX,
    check_password,
    email_error,
    hash_password,
    normalise_email,
    password_errors,
    password_fingerprint,
)
from web.access import current_user, login_required
from web.auth.links import (
    RESET_MAX_AGE,
    VERIFY_MAX_AGE,
    LinkError,
    absolute,
    invitation_token,
    mail,
    make_token,
    read_token,
    send_verification,
    settings,
)
from web.auth.sessions import (
    _wait_message,
    client_ip,
    login_policy,
    mail_request_allowed,
    oidc_enabled,
    safe_next,
    start_session,
)
from web.db import get_session

bp = Blueprint("auth", __name__)

ROLE_LABELS = {Role.MEMBRE: "membre", Role.ADMIN: "administrateur de la structure"}
JOIN_STATUS_LABELS = {"en_attente": "en attente", "acceptee": "acceptée", "refusee": "refusée"}


def role_label(role) -> str:
    return ROLE_LABELS.get(Role(role), str(role)) if role else ""


def join_status_label(status: str) -> str:
    return JOIN_STATUS_LABELS.get(status, status)


@bp.app_context_processor
def _inject():
    return {"oidc_enabled": oidc_enabled, "role_label": role_label, "join_status_label": join_status_label}


def forbidden(exc):
    message = exc.description or "Vous n'avez pas accès à cette page."
    return render_template("error.html", code=403, title="Accès refusé", message=message), 403


bp.register_error_handler(403, forbidden)


def route_exists(path: str, method: str = "GET") -> bool:
    """Whether some blueprint serves `path` (links to other areas' pages)."""
    try:
        current_app.url_map.bind("").match(path, method=method)
        return True
    except HTTPException:
        return False


# ---------------------------------------------------------------- registration


@bp.route("/inscription", methods=["GET", "POST"])
def register():
    form = {"email": "", "nom": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        db = get_session()
        email = normalise_email(request.form.get("email"))
        nom = (request.form.get("nom") or "").strip()
        password = request.form.get("password") or ""
        form = {"email": email, "nom": nom}
        if error := email_error(email):
            errors["email"] = error
        if len(nom) > NOM_MAX:
            errors["nom"] = f"Nom et prénom : {NOM_MAX} caractères au plus."
        errors.update(password_errors(password, request.form.get("password_confirm") or ""))
        if errors:
            return render_template("account/register.html", form=form, errors=errors), 400
        if not mail_request_allowed(db, "inscription", email):
            errors["email"] = TOO_MANY_MAILS
            return (render_template("account/register.html", form=form, errors=errors), 429,
                    {"Retry-After": str(int(MAIL_WINDOW.total_seconds()))})
        existing = members.user_by_email(db, email)
        if existing is None:
            set_actor(db, "inscription")
            user = User(email=email, nom=nom or None, password_hash=hash_password(password))
            db.add(user)
            db.commit()
            sent = send_verification(user)
        else:
            # Same answer as for a new address (no account enumeration); the
            # owner of the address is told instead.
            sent = mail(
                email,
                f"Vous avez déjà un compte — {settings().site_name}",
                f"Bonjour,\n\nQuelqu'un (vous, sans doute) a demandé à créer un compte avec cette adresse, "
                f"qui en a déjà un. Pour vous connecter : {absolute('auth.login')}\n"
                f"Mot de passe oublié : {absolute('auth.forgot_password')}\n",
            )
        return render_template("account/check_inbox.html", email=email, sent=sent)
    return render_template("account/register.html", form=form, errors=errors)


@bp.get("/verifier/<token>")
def verify(token):
    db = get_session()
    try:
        payload = read_token("verifier-courriel", token, VERIFY_MAX_AGE)
        user = db.get(User, payload.get("uid")) if isinstance(payload.get("uid"), int) else None
        if user is None or user.email != payload.get("email"):
            raise LinkError("Ce lien ne correspond à aucun compte.")
    except LinkError as exc:
        return render_template("account/link_error.html", message=str(exc)), 400
    if user.email_verified_at is None:
        set_actor(db, f"user:{user.id}")
        user.email_verified_at = datetime.now(UTC)
        db.commit()
        flash("Votre adresse est confirmée. Vous pouvez vous connecter.", "success")
    else:
        flash("Votre adresse était déjà confirmée.", "success")
    if current_user() is not None and current_user().id == user.id:
        return redirect(url_for("auth.espace"))
    return redirect(url_for("auth.login"))


# ---------------------------------------------------------------- login, logout


def _login_page(status=200, **context):
    context.setdefault("email", "")
    context.setdefault("next", "")
    context.setdefault("error", None)
    return render_template("account/login.html", **context), status


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return _login_page(next=safe_next(request.args.get("next"), ""))
    db = get_session()
    email = normalise_email(request.form.get("email"))
    password = request.form.get("password") or ""
    next_url = safe_next(request.form.get("next"), "")
    ip = client_ip()
    if not email or not password:
        missing = "Adresse électronique" if not email else "Mot de passe"
        return _login_page(400, email=email, next=next_url, error=f"{missing} : ce champ est obligatoire.")
    if len(email) > EMAIL_MAX or len(password) > PASSWORD_MAX:
        field = "Adresse électronique" if len(email) > EMAIL_MAX else "Mot de passe"
        limit = EMAIL_MAX if len(email) > EMAIL_MAX else PASSWORD_MAX
        return _login_page(400, email=email[:EMAIL_MAX], next=next_url,
                           error=f"{field} : {limit} caractères au plus.")
    wait = login_limits.wait_seconds(db, email, ip, login_policy())
    if wait:
        response = _login_page(429, email=email, next=next_url, error=_wait_message(wait))
        return response[0], 429, {"Retry-After": str(wait)}
    user = members.user_by_email(db, email)
    if not check_password(user, password) or not user.is_active:
        login_limits.record_failure(db, email, ip)
        db.commit()
        return _login_page(
            401, email=email, next=next_url, error="Adresse électronique ou mot de passe incorrect."
        )
    if user.email_verified_at is None:
        db.commit()  # a re-hash, if any
        message = "Votre adresse n'est pas encore confirmée. "
        if not mail_request_allowed(db, "verification", email):
            message += ("Le lien de confirmation vous a déjà été envoyé plusieurs fois dans l'heure : "
                        "ouvrez le dernier reçu (voyez aussi le dossier des indésirables).")
        elif send_verification(user):
            message += "Nous venons de vous renvoyer le lien de confirmation : ouvrez-le, puis connectez-vous."
        else:
            message += "Le courriel de confirmation n'a pas pu partir ; réessayez plus tard."
        return _login_page(403, email=email, next=next_url, error=message)
    set_actor(db, f"user:{user.id}")
    account_queries.forget_login_attempts(db, email)
    start_session(user)
    db.commit()
    flash("Vous êtes connecté.", "success")
    return redirect(next_url or url_for("auth.espace"))


@bp.post("/deconnexion")
def logout():
    id_token = session.get("oidc_id_token")
    db = get_session()
    user_sessions.end_session(db, session.get("auth_nonce"))
    db.commit()
    session.clear()
    g.current_user = None
    flash("Vous êtes déconnecté.", "success")
    if id_token and oidc_enabled():
        try:
            end = discovery(settings().oidc_issuer).get("end_session_endpoint")
        except OidcError:
            end = None
        if end:
            params = {
                "id_token_hint": id_token,
                "state": secrets.token_urlsafe(16),
                "post_logout_redirect_uri": absolute("public.home"),
            }
            return redirect(end + ("&" if "?" in end else "?") + urlencode(params))
    return redirect(url_for("public.home"))


@bp.post("/espace/sessions/fermer")
@login_required
def end_my_sessions():
    """Log out everywhere: every session of the account ends, this one included."""
    db = get_session()
    user = current_user()
    set_actor(db, f"user:{user.id}")
    user_sessions.end_all_sessions(db, user.id)
    db.commit()
    session.clear()
    g.current_user = None
    flash("Toutes vos sessions sont fermées, sur tous vos appareils.", "success")
    return redirect(url_for("auth.login"), 303)


# ---------------------------------------------------------------- password reset


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password():
    if request.method == "GET":
        return render_template("account/forgot.html", email="", error=None)
    db = get_session()
    email = normalise_email(request.form.get("email"))
    if error := email_error(email):
        return render_template("account/forgot.html", email=email, error=error), 400
    if not mail_request_allowed(db, "reinitialisation", email):
        return (render_template("account/forgot.html", email=email, error=TOO_MANY_MAILS), 429,
                {"Retry-After": str(int(MAIL_WINDOW.total_seconds()))})
    user = members.user_by_email(db, email)
    sent = True
    if user is not None and user.is_active:
        token = make_token("reinitialiser", {"uid": user.id, "fp": password_fingerprint(user)})
        sent = mail(
            user.email,
            f"Choisir un nouveau mot de passe — {settings().site_name}",
            f"Bonjour,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable une heure, "
            f"une seule fois) :\n\n{absolute('auth.reset_password', token=token)}\n\n"
            "Si vous n'avez rien demandé, ignorez ce message : votre mot de passe reste le même.\n",
        )
    return render_template("account/check_inbox.html", email=email, sent=sent, reset=True)


def _reset_user(db, token: str) -> User:
    payload = read_token("reinitialiser", token, RESET_MAX_AGE)
    user = db.get(User, payload.get("uid")) if isinstance(payload.get("uid"), int) else None
    if user is None or not user.is_active:
        raise LinkError("Ce lien ne correspond à aucun compte actif.")
    if not secrets.compare_digest(str(payload.get("fp")), password_fingerprint(user)):
        raise LinkError("Ce lien a déjà servi (ou le mot de passe a changé depuis). Demandez-en un nouveau.")
    return user


@bp.route("/reinitialiser/<token>", methods=["GET", "POST"])
def reset_password(token):
    db = get_session()
    try:
        user = _reset_user(db, token)
    except LinkError as exc:
        return render_template("account/link_error.html", message=str(exc), forgot=True), 400
    if request.method == "GET":
        return render_template("account/reset.html", token=token, errors={})
    password = request.form.get("password") or ""
    errors = password_errors(password, request.form.get("password_confirm") or "")
    if errors:
        return render_template("account/reset.html", token=token, errors=errors), 400
    set_actor(db, f"user:{user.id}")
    user.password_hash = hash_password(password)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)  # the link proved the address
    account_queries.forget_login_attempts(db, user.email)
    user_sessions.end_all_sessions(db, user.id)  # every copy of every cookie of the account
    db.commit()
    session.clear()
    flash("Votre mot de passe est changé. Connectez-vous avec le nouveau.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/espace/mot-de-passe", methods=["GET", "POST"])
@login_required
def change_password():
    user = current_user()
    if request.method == "GET":
        return render_template("account/change_password.html", errors={})
    db = get_session()
    errors = {}
    current = request.form.get("current_password") or ""
    if user.password_hash is not None and not check_password(user, current):
        errors["current_password"] = "Mot de passe actuel : il n'est pas le bon."
    password = request.form.get("password") or ""
    errors.update(password_errors(password, request.form.get("password_confirm") or ""))
    if errors:
        return render_template("account/change_password.html", errors=errors), 400
    set_actor(db, f"user:{user.id}")
    user.password_hash = hash_password(password)
    user_sessions.end_all_sessions(db, user.id)
    start_session(user)  # a new session for this browser; the others are ended
    db.commit()
    flash("Votre mot de passe est changé. Vos autres sessions sont fermées.", "success")
    return redirect(url_for("auth.espace"))


# ---------------------------------------------------------------- the user's home


@bp.get("/espace")
@login_required
def espace():
    db = get_session()
    user = current_user()
    rows = account_queries.memberships_of(db, user)
    structures = [
        {
            "structure": structure,
            "role": membership.role,
            "can_manage": permissions.can_manage_members(db, user, structure),
            "home": route_exists(f"/espace/structures/{structure.id}"),
        }
        for membership, structure in rows
    ]
    requests_ = account_queries.join_requests_of(db, user)
    invitations = account_queries.open_invitations_of(db, user)
    scopes = account_queries.moderation_scopes_of(db, user)
    return render_template(
        "account/espace.html",
        user=user,
        structures=structures,
        join_requests=requests_,
        invitations=[(inv, st, invitation_token(inv)) for inv, st in invitations],
        scopes=scopes,
        is_moderator=permissions.is_moderator(db, user),
    )

