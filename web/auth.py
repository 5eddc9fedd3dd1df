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
dies with it. Failed logins slow down further tries (catalogue/login_limits.py)."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import secrets
import smtplib
from base64 import urlsafe_b64encode
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import requests
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from werkzeug.exceptions import HTTPException

from catalogue import login_limits, permissions, user_sessions
from catalogue.accounts import (
    Invitation,
    JoinRequest,
    LoginAttempt,
    MailRequest,
    Membership,
    ModeratorScope,
    Role,
    User,
)
from catalogue.db import set_actor
from catalogue.models import Structure
from web.access import current_user, login_required, session_lifetimes
from web.db import get_session
from web.mail import send_mail

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

PASSWORD_MIN = 12
PASSWORD_MAX = 200
EMAIL_MAX = 254
NOM_MAX = 200
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

VERIFY_MAX_AGE = 3 * 24 * 3600  # 3 days
RESET_MAX_AGE = 3600  # 1 hour
INVITATION_MAX_AGE = 14 * 24 * 3600  # 14 days

# Account e-mails (registration, verification link, password reset) asked for
# within MAIL_WINDOW, per address and per IP.
MAIL_WINDOW = timedelta(hours=1)
MAX_MAILS_PER_EMAIL = 3
MAX_MAILS_PER_IP = 20
TOO_MANY_MAILS = (
    "Trop de courriels demandés pour cette adresse ou depuis ce réseau. "
    "Consultez ceux déjà reçus (et le dossier des indésirables), ou réessayez dans une heure."
)

OIDC_SCOPES = "openid email given_name usual_name"

hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both cases take the same time.
_DUMMY_HASH = hasher.hash("compte-inexistant")


# ---------------------------------------------------------------- helpers


def settings():
    return current_app.extensions["offre"]["settings"]


def hash_password(password: str) -> str:
    return hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True when `password` matches; re-hashes an outdated hash on success."""
    stored = user.password_hash if user is not None else None
    try:
        hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if hasher.check_needs_rehash(stored):
        user.password_hash = hasher.hash(password)
    return True


def normalise_email(value: str | None) -> str:
    return (value or "").strip().lower()


def email_error(email: str) -> str | None:
    if not email:
        return "Adresse électronique : ce champ est obligatoire."
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        return "Adresse électronique : adresse invalide (exemple : prenom.nom@domaine.fr)."
    return None


def password_errors(password: str, confirmation: str) -> dict[str, str]:
    errors = {}
    if len(password) < PASSWORD_MIN:
        errors["password"] = f"Mot de passe : {PASSWORD_MIN} caractères au moins."
    elif len(password) > PASSWORD_MAX:
        errors["password"] = f"Mot de passe : {PASSWORD_MAX} caractères au plus."
    elif password != confirmation:
        errors["password_confirm"] = "Confirmation du mot de passe : les deux saisies diffèrent."
    return errors


def serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_token(salt: str, payload: dict) -> str:
    return serializer(salt).dumps(payload)


class LinkError(Exception):
    """A signed link that cannot be used; the message says why, in French."""


def read_token(salt: str, token: str, max_age: int) -> dict:
    try:
        payload = serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkError("Ce lien a expiré. Demandez-en un nouveau.") from exc
    except BadSignature as exc:
        raise LinkError("Ce lien est invalide (incomplet ou modifié). Copiez-le en entier depuis le courriel.") from exc
    if not isinstance(payload, dict):
        raise LinkError("Ce lien est invalide.")
    return payload


def absolute(endpoint: str, **values) -> str:
    return settings().base_url.rstrip("/") + url_for(endpoint, **values)


def mail(to: str | list[str], subject: str, body: str) -> bool:
    """Send an e-mail; False (logged) when the SMTP server refuses or is away."""
    try:
        send_mail(settings(), to, subject, body)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail %r to %s not sent: %s", subject, to, exc)
        return False


def safe_next(value: str | None, default: str = "/espace") -> str:
    """A local path to go back to after login; anything else becomes `default`.

    Refused: absolute URLs (scheme), protocol-relative //host, backslashes
    (browsers read /\\host as //host), control characters, and non-paths."""
    if not value or not isinstance(value, str) or len(value) > 2000:
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "sans-mot-de-passe").encode()).hexdigest()[:20]


def start_session(user: User) -> None:
    """Log `user` in: a fresh session (old data gone), user_id and the nonce of a
    new server-side session."""
    session.clear()
    db = get_session()
    user_sessions.purge_expired(db, user.id, session_lifetimes())
    session["user_id"] = user.id
    session["auth_nonce"] = user_sessions.open_session(db, user)
    session.permanent = False
    g.current_user = user
    user.last_login_at = datetime.now(UTC)


def client_ip() -> str:
    return (request.remote_addr or "inconnue")[:64]


def login_policy() -> login_limits.Policy:
    s = settings()
    return login_limits.Policy(free=s.login_free_failures, max_delay=s.login_max_delay_seconds)


def _wait_message(seconds: int) -> str:
    if seconds < 120:
        delay = f"{seconds} seconde{'s' if seconds > 1 else ''}"
    else:
        delay = f"{math.ceil(seconds / 60)} minutes"
    return (
        f"Trop de tentatives de connexion échouées depuis votre réseau : patientez {delay} avant de réessayer, "
        "ou choisissez un nouveau mot de passe avec « Mot de passe oublié »."
    )


def mail_request_allowed(db, kind: str, email: str) -> bool:
    """Record that an account e-mail to `email` is asked for; False, and nothing
    recorded, when the address or the IP already asked MAX_MAILS_PER_* times within
    MAIL_WINDOW. Counted per request, whether the address has an account or not, so
    the answer tells nothing about accounts."""
    ip = client_ip()
    since = datetime.now(UTC) - MAIL_WINDOW
    by_email = db.scalar(
        select(func.count()).select_from(MailRequest).where(MailRequest.email == email, MailRequest.at >= since)
    )
    by_ip = db.scalar(
        select(func.count()).select_from(MailRequest).where(MailRequest.ip == ip, MailRequest.at >= since)
    )
    if by_email >= MAX_MAILS_PER_EMAIL or by_ip >= MAX_MAILS_PER_IP:
        log.warning("account e-mail %s to %s refused: too many requests (ip %s)", kind, email, ip)
        return False
    db.add(MailRequest(kind=kind, email=email, ip=ip))
    db.commit()
    return True


def send_verification(user: User) -> bool:
    token = make_token("verifier-courriel", {"uid": user.id, "email": user.email})
    link = absolute("auth.verify", token=token)
    return mail(
        user.email,
        f"Confirmez votre adresse — {settings().site_name}",
        f"Bonjour,\n\nPour confirmer votre adresse électronique et activer votre compte sur "
        f"{settings().site_name}, ouvrez ce lien (valable 3 jours) :\n\n{link}\n\n"
        "Si vous n'avez pas créé de compte, ignorez ce message.\n",
    )


def oidc_enabled() -> bool:
    s = settings()
    return bool(s.oidc_issuer and s.oidc_client_id)


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
        existing = db.scalar(select(User).where(User.email == email))
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
    user = db.scalar(select(User).where(User.email == email))
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
    db.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
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
            end = _discovery().get("end_session_endpoint")
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
    user = db.scalar(select(User).where(User.email == email))
    sent = True
    if user is not None and user.is_active:
        token = make_token("reinitialiser", {"uid": user.id, "fp": _password_fingerprint(user)})
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
    if not secrets.compare_digest(str(payload.get("fp")), _password_fingerprint(user)):
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
    db.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))
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


# ---------------------------------------------------------------- OpenID Connect


class OidcError(Exception):
    """The provider cannot be used or answered wrongly; a French message."""


_discovery_cache: dict[str, tuple[datetime, dict]] = {}


def _discovery() -> dict:
    issuer = settings().oidc_issuer.rstrip("/")
    cached = _discovery_cache.get(issuer)
    if cached and cached[0] > datetime.now(UTC):
        return cached[1]
    try:
        response = requests.get(issuer + "/.well-known/openid-configuration", timeout=10)
        response.raise_for_status()
        config = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcError("Le fournisseur d'identité ne répond pas. Réessayez plus tard.") from exc
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(config.get(key), str):
            raise OidcError("La configuration du fournisseur d'identité est incomplète.")
    if config.get("issuer", "").rstrip("/") != issuer:
        raise OidcError("Le fournisseur d'identité ne correspond pas à l'émetteur configuré.")
    _discovery_cache[issuer] = (datetime.now(UTC) + timedelta(hours=1), config)
    return config


def _jwks(config: dict):
    from joserfc.jwk import KeySet

    try:
        response = requests.get(config["jwks_uri"], timeout=10)
        response.raise_for_status()
        return KeySet.import_key_set(response.json())
    except (requests.RequestException, ValueError) as exc:
        raise OidcError("Les clés du fournisseur d'identité sont indisponibles.") from exc


def _decode_jwt(value: str, keys, algorithms) -> dict:
    from joserfc import jwt
    from joserfc.errors import JoseError

    try:
        return dict(jwt.decode(value, keys, algorithms=algorithms).claims)
    except (JoseError, ValueError) as exc:
        raise OidcError("La réponse du fournisseur d'identité n'a pas une signature valable.") from exc


def _check_id_token(claims: dict, nonce: str) -> None:
    s = settings()
    now = datetime.now(UTC).timestamp()
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if str(claims.get("iss", "")).rstrip("/") != s.oidc_issuer.rstrip("/"):
        raise OidcError("Le jeton d'identité ne vient pas de l'émetteur configuré.")
    if s.oidc_client_id not in audiences:
        raise OidcError("Le jeton d'identité n'est pas destiné à ce service.")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now - 60:
        raise OidcError("Le jeton d'identité a expiré.")
    if not claims.get("nonce") or not secrets.compare_digest(str(claims["nonce"]), nonce):
        raise OidcError("Le jeton d'identité ne correspond pas à cette connexion (nonce).")
    if not claims.get("sub"):
        raise OidcError("Le jeton d'identité ne nomme pas la personne (sub).")


@bp.get("/connexion/oidc")
def oidc_start():
    if not oidc_enabled():
        abort(404)
    try:
        config = _discovery()
    except OidcError as exc:
        return _login_page(503, error=str(exc))
    verifier = secrets.token_urlsafe(48)
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    session["oidc"] = {
        "state": state,
        "nonce": nonce,
        "verifier": verifier,
        "next": safe_next(request.args.get("next"), ""),
    }
    params = {
        "response_type": "code",
        "client_id": settings().oidc_client_id,
        "redirect_uri": absolute("auth.oidc_callback"),
        "scope": OIDC_SCOPES,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    endpoint = config["authorization_endpoint"]
    return redirect(endpoint + ("&" if "?" in endpoint else "?") + urlencode(params))


@bp.get("/connexion/oidc/retour")
def oidc_callback():
    if not oidc_enabled():
        abort(404)
    pending = session.pop("oidc", None)
    if not pending or not request.args.get("state") or not secrets.compare_digest(
        str(pending.get("state")), request.args.get("state", "")
    ):
        return _login_page(400, error="La connexion par le fournisseur d'identité a expiré ou ne vient pas de ce site. Recommencez.")
    if request.args.get("error"):
        return _login_page(
            400, error="Le fournisseur d'identité a refusé la connexion : " + request.args.get("error", "")[:100] + "."
        )
    code = request.args.get("code")
    if not code:
        return _login_page(400, error="Le fournisseur d'identité n'a pas renvoyé de code de connexion.")
    try:
        claims, userinfo, id_token = _oidc_exchange(code, pending)
        user = _oidc_user(get_session(), claims, userinfo)
    except OidcError as exc:
        return _login_page(400, error=str(exc))
    db = get_session()
    set_actor(db, f"user:{user.id}")
    start_session(user)
    session["oidc_id_token"] = id_token
    db.commit()
    flash("Vous êtes connecté.", "success")
    return redirect(pending.get("next") or url_for("auth.espace"))


def _oidc_exchange(code: str, pending: dict) -> tuple[dict, dict, str]:
    s = settings()
    config = _discovery()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": absolute("auth.oidc_callback"),
        "code_verifier": pending["verifier"],
    }
    auth = None
    methods = config.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        auth = (s.oidc_client_id, s.oidc_client_secret)
    else:
        data.update(client_id=s.oidc_client_id, client_secret=s.oidc_client_secret)
    try:
        response = requests.post(config["token_endpoint"], data=data, auth=auth, timeout=10)
        tokens = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise OidcError("Le fournisseur d'identité ne répond pas. Réessayez plus tard.") from exc
    if response.status_code != 200 or not isinstance(tokens, dict) or not tokens.get("id_token"):
        raise OidcError("Le fournisseur d'identité a refusé le code de connexion. Recommencez.")
    keys = _jwks(config)
    algorithms = config.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [a for a in algorithms if a in ("RS256", "ES256", "PS256", "RS384", "RS512", "ES384")] or ["RS256"]
    claims = _decode_jwt(tokens["id_token"], keys, algorithms)
    _check_id_token(claims, pending["nonce"])
    userinfo: dict = {}
    if config.get("userinfo_endpoint") and tokens.get("access_token"):
        try:
            answer = requests.get(
                config["userinfo_endpoint"],
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
                timeout=10,
            )
        except requests.RequestException as exc:
            raise OidcError("Le fournisseur d'identité ne répond pas. Réessayez plus tard.") from exc
        if answer.status_code == 200:
            if answer.headers.get("Content-Type", "").startswith("application/jwt"):
                # ProConnect signs its userinfo answer.
                userinfo = _decode_jwt(answer.text.strip(), keys, algorithms)
            else:
                try:
                    userinfo = answer.json()
                except ValueError:
                    userinfo = {}
        if userinfo and userinfo.get("sub") != claims["sub"]:
            raise OidcError("Les informations du fournisseur d'identité ne concernent pas la même personne.")
    return claims, userinfo, tokens["id_token"]


def _oidc_user(db, claims: dict, userinfo: dict) -> User:
    """The account of the OIDC subject: found by subject, else by e-mail (linked),
    else created (verified by the provider)."""
    info = {**claims, **userinfo}
    subject = f"{settings().oidc_issuer.rstrip('/')}|{claims['sub']}"
    user = db.scalar(select(User).where(User.oidc_subject == subject))
    if user is None:
        email = normalise_email(info.get("email"))
        if email_error(email):
            raise OidcError("Le fournisseur d'identité n'a pas donné d'adresse électronique valable.")
        if info.get("email_verified") is False:
            raise OidcError("Votre adresse électronique n'est pas vérifiée par le fournisseur d'identité.")
        user = db.scalar(select(User).where(User.email == email))
        set_actor(db, "oidc")
        if user is None:
            nom = " ".join(str(info[k]) for k in ("given_name", "usual_name", "family_name") if info.get(k))
            user = User(email=email, nom=(nom or None) and nom[:NOM_MAX])
            db.add(user)
        user.oidc_subject = subject
        if user.email_verified_at is None:
            user.email_verified_at = datetime.now(UTC)
        db.flush()
    if not user.is_active:
        raise OidcError("Ce compte est désactivé. Contactez l'équipe du SPIE.")
    return user


# ---------------------------------------------------------------- the user's home


@bp.get("/espace")
@login_required
def espace():
    db = get_session()
    user = current_user()
    rows = db.execute(
        select(Membership, Structure)
        .join(Structure, Structure.id == Membership.structure_id)
        .where(Membership.user_id == user.id)
        .order_by(Structure.nom)
    ).all()
    structures = [
        {
            "structure": structure,
            "role": membership.role,
            "can_manage": permissions.can_manage_members(db, user, structure),
            "home": route_exists(f"/espace/structures/{structure.id}"),
        }
        for membership, structure in rows
    ]
    requests_ = db.execute(
        select(JoinRequest, Structure)
        .join(Structure, Structure.id == JoinRequest.structure_id)
        .where(JoinRequest.user_id == user.id)
        .order_by(JoinRequest.created_at.desc())
        .limit(20)
    ).all()
    invitations = db.execute(
        select(Invitation, Structure)
        .join(Structure, Structure.id == Invitation.structure_id)
        .where(Invitation.email == user.email, Invitation.accepted_at.is_(None))
        .order_by(Invitation.created_at.desc())
    ).all()
    scopes = db.scalars(select(ModeratorScope).where(ModeratorScope.user_id == user.id)).all()
    return render_template(
        "account/espace.html",
        user=user,
        structures=structures,
        join_requests=requests_,
        invitations=[(inv, st, invitation_token(inv)) for inv, st in invitations],
        scopes=scopes,
        is_moderator=permissions.is_moderator(db, user),
    )


def invitation_token(invitation: Invitation) -> str:
    return make_token("invitation", {"inv": invitation.id, "email": invitation.email})
