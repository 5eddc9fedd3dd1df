"""offre search …: the search index (sync from the outbox, rebuild, worker), through
the search service (search.service), built here from the settings without Flask."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from search.errors import SearchError
from search.service import SearchService
from web.commands.base import sessions, settings


def _service() -> SearchService:
    return SearchService.from_settings(settings())


@click.group("search", help="Index de recherche (PostgreSQL ou Meilisearch).")
def search_group():
    pass


@search_group.command("sync", help="Applique une fois les changements en attente (outbox) à l'index.")
@click.option("--batch", default=1000, show_default=True)
@with_appcontext
def search_sync(batch):
    try:
        result = _service().sync(sessions(), batch)
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

    configure(settings().log_format)
    service = _service()
    click.echo(f"Synchronisation continue ({service.name}) ; Ctrl-C pour arrêter.")
    try:
        service.worker(sessions(), interval=interval, batch=batch)
    except KeyboardInterrupt:
        click.echo("Arrêt.")


@search_group.command("warm", help="Calcule d'avance la part nationale des recherches les plus courantes "
                      "(fait par le worker après chaque changement du catalogue).")
@with_appcontext
def search_warm():
    started = time.monotonic()
    count = _service().warm(sessions())
    if not count:
        raise click.ClickException("Rien à préparer : cache de recherche partagé désactivé "
                                   "(SEARCH_CACHE_SIZE ou SEARCH_SHARED_CACHE_SIZE à 0) ou aucune commune localisée.")
    click.echo(f"{count} recherches préparées en {time.monotonic() - started:.1f} s.")


@search_group.command("rebuild", help="Reconstruit tout l'index (à côté, puis bascule : sans interruption).")
@with_appcontext
def search_rebuild():
    started = time.monotonic()
    try:
        count = _service().rebuild(sessions(), actor="cli:search")
    except SearchError as exc:
        raise click.ClickException(f"Reconstruction impossible : {exc}") from exc
    click.echo(f"Index reconstruit ({count} offres) en {time.monotonic() - started:.1f} s.")


@search_group.command("keys", help="Crée (une fois) les clés Meilisearch restreintes, depuis la clé maîtresse "
                            "MEILISEARCH_MASTER_KEY : lecture (l'application), écriture (l'indexation).")
@click.option("--write-dir", type=click.Path(file_okay=False), default=None,
              help="Écrire les clés dans ce dossier (meilisearch-search.key, meilisearch-write.key).")
@with_appcontext
def search_keys(write_dir):
    from search.meilisearch_ import ensure_keys, write_keys

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
    write_keys(keys, write_dir)
    click.echo(f"Clés écrites dans {write_dir} (lecture : meilisearch-search.key, "
               "écriture : meilisearch-write.key).")


commands = [search_group]
