"""offre token create|revoke|list: API tokens of the structures."""

from __future__ import annotations

import uuid

import click
from flask import current_app
from flask.cli import with_appcontext

from catalogue import tokens
from catalogue.db import transaction
from catalogue.errors import CatalogueError


def _structure_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise click.BadParameter(f"identifiant de structure invalide : {value!r}", param_hint="STRUCTURE_ID") from exc


@click.group("token", help="Jetons d'API des structures partenaires.")
def token_group():
    pass


@token_group.command("create", help="Crée un jeton pour la structure ; il n'est affiché qu'une fois.")
@click.argument("structure_id")
@click.option("--scope", "scopes", multiple=True, default=("read",), show_default=True,
              type=click.Choice(tokens.SCOPES), help="Portée (répétable) : read, write.")
@click.option("--name", default="", help="Nom du jeton (à quoi il sert).")
@with_appcontext
def create(structure_id, scopes, name):
    sid = _structure_id(structure_id)
    try:
        with transaction(current_app.extensions["offre"]["sessionmaker"], actor="cli") as session:
            token, plain = tokens.create_token(session, sid, scopes=scopes, name=name, created_by="cli")
            token_id = token.id
    except CatalogueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Jeton n° {token_id} créé ({', '.join(sorted(scopes))}). Copiez-le, il ne sera plus affiché :")
    click.echo(plain)


@token_group.command("revoke", help="Révoque un jeton (par son numéro).")
@click.argument("token_id", type=int)
@with_appcontext
def revoke(token_id):
    try:
        with transaction(current_app.extensions["offre"]["sessionmaker"], actor="cli") as session:
            tokens.revoke(session, token_id, by="cli")
    except CatalogueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Jeton n° {token_id} révoqué.")


@token_group.command("list", help="Liste les jetons d'une structure.")
@click.argument("structure_id")
@with_appcontext
def list_(structure_id):
    sid = _structure_id(structure_id)
    with current_app.extensions["offre"]["sessionmaker"]() as session:
        for t in tokens.tokens_of(session, sid):
            state = f"révoqué le {t.revoked_at:%d/%m/%Y}" if t.revoked_at else "actif"
            used = f"{t.last_used_at:%d/%m/%Y %H:%M}" if t.last_used_at else "jamais"
            click.echo(f"{t.id}\t{t.prefix}…\t{','.join(t.scopes)}\t{state}\tdernier usage : {used}\t{t.name}")


commands = [token_group]
