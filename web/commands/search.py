"""offre search …: the search index (sync from the outbox, rebuild, worker)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from catalogue.db import transaction
from search import sync
from search.documents import all_documents
from search.errors import SearchError
from web.commands.base import sessions, settings
from web.search_ import backend_for


@click.group("search", help="Index de recherche (PostgreSQL ou Meilisearch).")
def search_group():
    pass


@search_group.command("sync", help="Applique une fois les changements en attente (outbox) à l'index.")
@click.option("--batch", default=1000, show_default=True)
@with_appcontext
def search_sync(batch):
    try:
        result = sync.sync_all(sessions(), backend_for, batch)
    except SearchError as exc:
        raise click.ClickException(f"Synchronisation impossible : {exc}") from exc
    click.echo(
        f"Synchronisation : {result.rows} changements, {result.indexed} offres indexées, "
        f"{result.deleted} retirées de l'index."
    )


@search_group.command("worker", help="Synchronise en continu (nouvel essai avec attente croissante en cas d'échec).")
@click.option("--interval", default=2.0, show_default=True, help="Secondes entre deux passes.")
@click.option("--batch", default=1000, show_default=True)
@with_appcontext
def search_worker(interval, batch):
    from web.logs import configure

    configure(current_app.extensions["offre"]["settings"].log_format)
    click.echo(f"Synchronisation continue ({current_app.extensions['offre']['settings'].search_backend}) ; Ctrl-C pour arrêter.")
    try:
        sync.worker(sessions(), backend_for, interval=interval, batch=batch,
                    configured=current_app.extensions["offre"]["settings"].search_backend)
    except KeyboardInterrupt:
        click.echo("Arrêt.")


@search_group.command("rebuild", help="Reconstruit tout l'index (à côté, puis bascule : sans interruption).")
@with_appcontext
def search_rebuild():
    started = time.monotonic()
    configured = current_app.extensions["offre"]["settings"].search_backend
    try:
        if configured in sync.EXTERNAL:
            # Feeding an external engine always starts from a full rebuild, the outbox on.
            count = sync.switch_to(sessions(), configured, backend_for)
        else:
            with transaction(sessions(), actor="cli:search") as session:
                count = backend_for(session).rebuild(all_documents(session))
            sync.switch_to(sessions(), configured, backend_for)
    except SearchError as exc:
        raise click.ClickException(f"Reconstruction impossible : {exc}") from exc
    shown = f"{count} offres" if isinstance(count, int) else "index"
    click.echo(f"Index reconstruit ({shown}) en {time.monotonic() - started:.1f} s.")


@search_group.command("keys", help="Crée (une fois) les clés Meilisearch restreintes, depuis la clé maîtresse "
                            "MEILISEARCH_MASTER_KEY : lecture (l'application), écriture (l'indexation).")
@click.option("--write-dir", type=click.Path(file_okay=False), default=None,
              help="Écrire les clés dans ce dossier (meilisearch-search.key, meilisearch-write.key).")
@with_appcontext
def search_keys(write_dir):
    from search.meilisearch_ import ensure_keys

    conf = settings()
    if not conf.meilisearch_url or not conf.meilisearch_master_key:
        raise click.ClickException("MEILISEARCH_URL et MEILISEARCH_MASTER_KEY (ou _FILE) sont requis.")
    try:
        keys = ensure_keys(conf.meilisearch_url, conf.meilisearch_master_key, conf.meilisearch_index)
    except SearchError as exc:
        raise click.ClickException(str(exc)) from exc
    if write_dir is None:
        for role, value in keys.items():
            click.echo(f"{role} : {value}")
        return
    os.makedirs(write_dir, exist_ok=True)
    for role, value in keys.items():
        path = Path(write_dir) / f"meilisearch-{role}.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
    click.echo(f"Clés écrites dans {write_dir} (lecture : meilisearch-search.key, "
               "écriture : meilisearch-write.key).")


commands = [search_group]
