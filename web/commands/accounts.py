"""offre user …: create the first accounts (administrator, moderators), give and
withdraw CTO memberships."""

from __future__ import annotations

import uuid

import click
from flask.cli import with_appcontext

from catalogue import account_rights, cto_queries, members, user_sessions
from catalogue.accounts import User
from catalogue.db import transaction
from catalogue.passwords import email_error, hash_password, normalise_email, password_errors
from geo import territories
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
        if unknown := account_rights.unknown_scope(db, departements, territoires):
            raise click.BadParameter(unknown[1], param_hint=unknown[0])
        user = members.user_by_email(db, email)
        created = user is None
        if created:
            password_hash = None
            if not no_password:
                password = click.prompt("Mot de passe", hide_input=True, confirmation_prompt="Confirmation")
                errors = password_errors(password, password)
                if errors:
                    raise click.UsageError(" ".join(errors.values()))
                password_hash = hash_password(password)
            user = account_rights.create_account(db, email, nom, password_hash)
        account_rights.grant(db, user, admin=admin, departements=departements, territoires=territoires)
    rights = account_rights.rights_words(admin, departements, territoires)
    state = "créé" if created else "existant"
    click.echo(f"Compte {state} : {email}" + (f" — {', '.join(rights)}." if rights else "."))


def _cto_scope(db, territoire: str | None, comite: str | None):
    """(territory slug, committee) of the options, exactly one of them."""

    if bool(territoire) == bool(comite):
        raise click.UsageError("Donnez --territoire ou --comite (l'un des deux).")
    if territoire:
        if territories.territory_name(db, territoire) is None:
            raise click.BadParameter(f"territoire inconnu : {territoire}", param_hint="--territoire")
        return territoire, None
    try:
        public_id = uuid.UUID(comite)
    except ValueError:
        raise click.BadParameter(f"identifiant de comité invalide : {comite} (l'identifiant de son adresse "
                                 "/cto/comites/…)", param_hint="--comite") from None
    committee = cto_queries.committee_by_public_id(db, public_id)
    if committee is None:
        raise click.BadParameter(f"comité inconnu : {comite}", param_hint="--comite")
    return None, committee


def _existing_user(db, email: str) -> User:
    user = members.user_by_email(db, normalise_email(email))
    if user is None:
        raise click.BadParameter(f"aucun compte n'a l'adresse {email} (la personne crée d'abord son compte, "
                                 "ou « offre user create »)", param_hint="EMAIL")
    return user


@user_group.command(
    "cto-acces",
    help="Donne à un compte l'accès au comité technique (CTO) : aux comités d'un territoire (--territoire) "
    "ou à un seul comité (--comite, l'identifiant de son adresse /cto/comites/…). Même règle que la page "
    "/cto/acces ; un compte sans accès ne voit que les offres publiées.",
)
@click.argument("email")
@click.option("--territoire", default=None, metavar="SLUG", help="Identifiant du territoire.")
@click.option("--comite", default=None, metavar="UUID", help="Identifiant public du comité.")
@with_appcontext
def cto_grant(email, territoire, comite):
    from catalogue import cto
    from catalogue.errors import ValidationError

    with transaction(sessions(), actor="cli") as db:
        user = _existing_user(db, email)
        slug, committee = _cto_scope(db, territoire, comite)
        try:
            cto.grant(db, user.id, territory_slug=slug, committee=committee)
        except ValidationError as exc:
            raise click.UsageError(" ".join(m for msgs in exc.errors.values() for m in msgs)) from None
        what = f"territoire {slug}" if slug else f"comité du {committee.date:%d/%m/%Y} ({committee.territory_slug})"
    click.echo(f"Accès au CTO donné à {user.email} : {what}.")


@user_group.command("cto-retirer", help="Retire un accès au CTO donné par « cto-acces » ou par la page /cto/acces.")
@click.argument("email")
@click.option("--territoire", default=None, metavar="SLUG", help="Identifiant du territoire.")
@click.option("--comite", default=None, metavar="UUID", help="Identifiant public du comité.")
@with_appcontext
def cto_revoke(email, territoire, comite):

    with transaction(sessions(), actor="cli") as db:
        user = _existing_user(db, email)
        slug, committee = _cto_scope(db, territoire, comite)
        found = cto_queries.cto_access(db, user.id, slug, committee)
        if found is None:
            raise click.UsageError(f"{user.email} n'a pas cet accès.")
        db.delete(found)
    click.echo(f"Accès au CTO retiré à {user.email}.")


@user_group.command("cto-liste", help="Liste les accès au CTO (d'un compte, ou de tous).")
@click.argument("email", required=False)
@with_appcontext
def cto_list(email):

    with transaction(sessions(), actor="cli") as db:
        rows = cto_queries.cto_accesses(db, _existing_user(db, email).id if email else None)
        for membership, user, committee in rows:
            what = (f"territoire {membership.territory_slug}" if membership.territory_slug
                    else f"comité {committee.public_id} du {committee.date:%d/%m/%Y} ({committee.territory_slug})")
            click.echo(f"{user.email}\t{what}\tdepuis le {membership.created_at:%d/%m/%Y}")
        if not rows:
            click.echo("Aucun accès au CTO.")


@user_group.command(
    "end-sessions",
    help="Ferme toutes les sessions d'un compte (tous ses appareils) : la personne devra se reconnecter.",
)
@click.argument("email")
@with_appcontext
def end_sessions(email):
    email = normalise_email(email)
    with transaction(sessions(), actor="cli") as db:
        user = members.user_by_email(db, email)
        if user is None:
            raise click.BadParameter(f"aucun compte pour {email}", param_hint="EMAIL")
        ended = user_sessions.end_all_sessions(db, user.id)
    click.echo(f"Sessions fermées pour {email} : {ended}.")


commands = [user_group]
