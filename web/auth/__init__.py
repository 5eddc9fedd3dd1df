"""Accounts on the web: the routes (web.auth.routes, web.auth.oidc_routes) on one
blueprint `auth`, the signed links and e-mails (web.auth.links), the session and
its limits (web.auth.sessions). The rules are below web: catalogue.passwords,
catalogue.signed_links, catalogue.mail_limits, catalogue.oidc."""

from web.auth import oidc_routes, routes

bp = routes.bp

__all__ = ["bp", "oidc_routes", "routes"]
