"""Signed links and account e-mails: the tokens of catalogue.signed_links made with
the application's SECRET_KEY, absolute links to the site, and e-mails sent through
web.mail (a refused e-mail is logged, never an error page)."""

from __future__ import annotations

import logging
import smtplib

from flask import current_app, url_for

from catalogue import signed_links
from catalogue.accounts import Invitation, User
from catalogue.signed_links import INVITATION_MAX_AGE, RESET_MAX_AGE, VERIFY_MAX_AGE, LinkError
from web.mail import send_mail

__all__ = ["INVITATION_MAX_AGE", "RESET_MAX_AGE", "VERIFY_MAX_AGE", "LinkError"]

log = logging.getLogger("web.auth")


def settings():
    return current_app.extensions["offre"]["settings"]


def make_token(salt: str, payload: dict) -> str:
    return signed_links.make_token(current_app.config["SECRET_KEY"], salt, payload)


def read_token(salt: str, token: str, max_age: int) -> dict:
    return signed_links.read_token(current_app.config["SECRET_KEY"], salt, token, max_age)


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


def invitation_token(invitation: Invitation) -> str:
    return make_token("invitation", {"inv": invitation.id, "email": invitation.email})
