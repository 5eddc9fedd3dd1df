"""Accounts on the web: the routes (web.auth.routes, web.auth.oidc_routes) on one
blueprint `auth`, the signed links and e-mails (web.auth.links), the session and
its limits (web.auth.sessions). The rules are below web: catalogue.passwords,
catalogue.signed_links, catalogue.mail_limits, catalogue.oidc.

The names below are what other areas use (web.members: `from web import auth`,
then `auth.mail(...)`); new code imports them from their own modules."""

from catalogue.passwords import (
    NOM_MAX,
    email_error,
    hash_password,
    normalise_email,
    password_errors,
)
from catalogue.signed_links import INVITATION_MAX_AGE, LinkError
from web.auth import oidc_routes, routes
from web.auth.links import absolute, invitation_token, mail, read_token, settings
from web.auth.routes import bp, forbidden, role_label
from web.auth.sessions import start_session

__all__ = [
    "INVITATION_MAX_AGE", "NOM_MAX", "LinkError", "absolute", "bp", "email_error", "forbidden",
    "hash_password", "invitation_token", "mail", "normalise_email", "oidc_routes", "password_errors",
    "read_token", "role_label", "routes", "settings", "start_session",
]
