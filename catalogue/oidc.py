"""The OpenID Connect client (ProConnect and the like), without HTTP-of-Flask:
the provider's discovery document (cached an hour), its keys, the code exchanged
for the ID token (PKCE), the token checked (issuer, audience, expiry, nonce), the
userinfo read, and the account of the person found, linked or created. `conf` is
the application's settings (oidc_issuer, oidc_client_id, oidc_client_secret);
the routes are in web/auth/oidc_routes.py."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import select

from catalogue.accounts import User
from catalogue.db import set_actor
from catalogue.passwords import NOM_MAX, email_error, normalise_email

OIDC_SCOPES = "openid email given_name usual_name"


class OidcError(Exception):
    """The provider cannot be used or answered wrongly; a French message."""


_discovery_cache: dict[str, tuple[datetime, dict]] = {}


def discovery(issuer: str) -> dict:
    issuer = issuer.rstrip("/")
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


def _check_id_token(conf, claims: dict, nonce: str) -> None:
    s = conf
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


def exchange(conf, code: str, pending: dict, redirect_uri: str) -> tuple[dict, dict, str]:
    """The code for the ID token (checked) and the userinfo: (claims, userinfo,
    the ID token as received)."""
    s = conf
    config = discovery(s.oidc_issuer)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
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
    _check_id_token(s, claims, pending["nonce"])
    userinfo = _userinfo(config, tokens, keys, algorithms, claims)
    return claims, userinfo, tokens["id_token"]


def _userinfo(config: dict, tokens: dict, keys, algorithms, claims: dict) -> dict:
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
    return userinfo


def account(db, issuer: str, claims: dict, userinfo: dict) -> User:
    """The account of the OIDC subject: found by subject, else by e-mail (linked),
    else created (verified by the provider)."""
    info = {**claims, **userinfo}
    subject = f"{issuer.rstrip('/')}|{claims['sub']}"
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
