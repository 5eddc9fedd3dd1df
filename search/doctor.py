"""The checks of `offre doctor` (web/commands/ops.py): the configuration, the
mail server, the database (migrations, référentiel, indexing, scheduled jobs) and
the search engine, each a Finding that says what to correct. Here, in search/,
because the checks read the search engine (search.sync, search.service) as well as
the catalogue; `conf` is the service's Settings."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from catalogue import jobs
from catalogue.maintenance import alembic_config
from catalogue.schedule import JOBS, period_of
from geo import lookup
from search import sync
from search.errors import SearchError

DEFAULT_SECRET = "dev-secret-change-me"


@dataclass
class Finding:
    level: str  # "ok", "info", "avertissement", "erreur"
    subject: str
    message: str


def secret(conf) -> Finding:
    key = conf.secret_key
    if key == DEFAULT_SECRET:
        return Finding("erreur", "SECRET_KEY", "valeur par défaut : n'importe qui peut signer une session. "
                       "Générez-en une : python3 -c 'import secrets; print(secrets.token_urlsafe(48))'.")
    if len(key.encode()) < 32:
        return Finding("erreur", "SECRET_KEY", f"trop courte ({len(key.encode())} octets, 32 au moins).")
    return Finding("ok", "SECRET_KEY", "définie.")


def urls(conf) -> list[Finding]:
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


def smtp(conf) -> Finding:
    try:
        with smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=5) as smtp:
            smtp.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        return Finding("avertissement", "SMTP", f"{conf.smtp_host}:{conf.smtp_port} injoignable "
                       f"({exc.__class__.__name__}) : aucun courriel ne partira (SMTP_HOST, SMTP_PORT).")
    return Finding("ok", "SMTP", f"{conf.smtp_host}:{conf.smtp_port} répond.")


def meilisearch(conf) -> list[Finding]:
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


def search_engine(conf, factory) -> list[Finding]:
    """The configured engine's own check() (search.service), as /healthz reports it."""
    from search.service import SearchService

    health = SearchService.from_settings(conf).health(factory)
    if health["status"] == "ok":
        return [Finding("ok", "Moteur de recherche", f"{health['backend']} répond.")]
    level = "erreur" if health["status"] == "down" else "avertissement"
    fallback = " ; PostgreSQL répond à sa place" if health.get("answering") else ""
    return [Finding(level, "Moteur de recherche", f"{health['backend']} : {health.get('error')}{fallback}.")]


def database(conf, factory) -> list[Finding]:
    found = []
    with factory() as session:
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


def findings(conf, factory) -> list[Finding]:
    """Every check, in the order the command prints them."""
    found = [secret(conf), *urls(conf), smtp(conf), *meilisearch(conf)]
    try:
        found += database(conf, factory)
        found += search_engine(conf, factory)
    except Exception as exc:  # the database itself is what is wrong
        found.append(Finding("erreur", "Base de données", f"injoignable ({exc.__class__.__name__}) : "
                             "vérifiez DATABASE_URL."))
    return found


MARK = {"ok": "ok ", "info": "i  ", "avertissement": "!  ", "erreur": "✗  "}
