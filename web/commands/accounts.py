"""offre user …: create the first accounts (administrator, moderators)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import with_appcontext
from sqlalchemy import select, text

from catalogue import user_sessions
from catalogue.accounts import ModeratorScope, User
from catalogue.db import transaction
from web.auth import email_error, hash_password, normalise_email, password_errors
from web.commands.base import sessions


@click.group("user", help="Comptes des professionnels.")
def user_group():
    pass


@user_group.command(
    "create",
    help=(
        "Crée un compte, confirmé d'office, et lui donne des droits. Le mot de passe est demandé "
        "(12 caractères au moins) sauf avec --sans-mot-de-passe (connexion par OpenID Connect ou "
        "« Mot de passe oublié »). Si le compte existe déjà, seuls les droits demandés sont ajoutés."
    ),
)
@click.argument("email")
@click.option("--admin", is_flag=True, help="Administrateur du service (tous les droits).")
@click.option(
    "--moderateur-departement", "departements", multiple=True, metavar="CODE",
    help="Modérateur d'un département (code INSEE, ex. 02) ; répétable.",
)
@click.option(
    "--moderateur-territoire", "territoires", multiple=True, metavar="SLUG",
    help="Modérateur d'un territoire (identifiant du territoire) ; répétable.",
)
@click.option("--nom", default=None, help="Prénom et nom.")
@click.option("--sans-mot-de-passe", "no_password", is_flag=True, help="Ne pas demander de mot de passe.")
@with_appcontext
def create_user(email, admin, departements, territoires, nom, no_password):
    email = normalise_email(email)
    if error := email_error(email):
        raise click.BadParameter(error, param_hint="EMAIL")
    with transaction(sessions(), actor="cli") as db:
        for code in departements:
            if not db.scalar(text("SELECT 1 FROM geo_departement WHERE code = :c"), {"c": code}):
                raise click.BadParameter(f"département inconnu : {code}", param_hint="--moderateur-departement")
        for slug in territoires:
            if not db.scalar(text("SELECT 1 FROM geo_territory WHERE slug = :s"), {"s": slug}):
                raise click.BadParameter(f"territoire inconnu : {slug}", param_hint="--moderateur-territoire")
        user = db.scalar(select(User).where(User.email == email))
        created = user is None
        if created:
            password_hash = None
            if not no_password:
                password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmation")
                errors = password_errors(password, password)
                if errors:
                    raise click.UsageError(" ".join(errors.values()))
                password_hash = hash_password(password)
            user = User(email=email, nom=nom, password_hash=password_hash, email_verified_at=datetime.now(UTC))
            db.add(user)
            db.flush()
        if admin:
            user.is_admin = True
        existing = {(s.departement_code, s.territory_slug) for s in user.moderator_scopes}
        for code in departements:
            if (code, None) not in existing:
                db.add(ModeratorScope(user_id=user.id, departement_code=code))
        for slug in territoires:
            if (None, slug) not in existing:
                db.add(ModeratorScope(user_id=user.id, territory_slug=slug))
    rights = []
    if admin:
        rights.append("administrateur")
    rights += [f"modérateur du département {c}" for c in departements]
    rights += [f"modérateur du territoire {s}" for s in territoires]
    state = "créé" if created else "existant"
    click.echo(f"Compte {state} : {email}" + (f" — {', '.join(rights)}." if rights else "."))


@user_group.command(
    "end-sessions",
    help="Ferme toutes les sessions d'un compte (tous ses appareils) : la personne devra se reconnecter.",
)
@click.argument("email")
@with_appcontext
def end_sessions(email):
    email = normalise_email(email)
    with transaction(sessions(), actor="cli") as db:
        user = db.scalar(select(User).where(User.email == email))
        if user is None:
            raise click.BadParameter(f"aucun compte pour {email}", param_hint="EMAIL")
        ended = user_sessions.end_all_sessions(db, user.id)
    click.echo(f"Sessions fermées pour {email} : {ended}.")


commands = [user_group]
