"""Signed links (e-mail verification, password reset, invitation): itsdangerous
tokens made with the application's secret key, each kind with its own salt and
lifetime. The web side (web/auth/links.py) gives the secret."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

VERIFY_MAX_AGE = 3 * 24 * 3600  # 3 days
RESET_MAX_AGE = 3600  # 1 hour
INVITATION_MAX_AGE = 14 * 24 * 3600  # 14 days


class LinkError(Exception):
    """A signed link that cannot be used; the message says why, in French."""


def serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def make_token(secret: str, salt: str, payload: dict) -> str:
    return serializer(secret, salt).dumps(payload)


def read_token(secret: str, salt: str, token: str, max_age: int) -> dict:
    try:
        payload = serializer(secret, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise LinkError("Ce lien a expiré. Demandez-en un nouveau.") from exc
    except BadSignature as exc:
        raise LinkError("Ce lien est invalide (incomplet ou modifié). Copiez-le en entier depuis le courriel.") from exc
    if not isinstance(payload, dict):
        raise LinkError("Ce lien est invalide.")
    return payload
