"""One typed settings object, read from the environment. Every setting has a
default and a one-line description (a test fails when one is undocumented).

Any setting NAME may instead be read from a file named by NAME_FILE (Docker or
systemd secrets): its content, without the final line break. Giving both is refused."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields


def setting(default, doc: str, *, env: str | None = None):
    return field(default=default, metadata={"doc": doc, "env": env})


@dataclass(frozen=True)
class Settings:
    database_url: str = setting(
        "", "URL SQLAlchemy de la base PostgreSQL/PostGIS (postgresql+psycopg://…)."
    )
    secret_key: str = setting(
        "dev-secret-change-me", "Clé secrète des sessions et des liens signés (à changer en production)."
    )
    search_backend: str = setting(
        "postgres", "Moteur de recherche : postgres (par défaut) ou meilisearch."
    )
    meilisearch_url: str = setting("", "URL de Meilisearch (vide : non utilisé).")
    meilisearch_key: str = setting("", "Clé d'API de Meilisearch.")
    meilisearch_index: str = setting("services", "Nom de l'index Meilisearch des services.")
    site_name: str = setting(
        "Offre d'insertion", "Nom du service affiché en tête des pages."
    )
    departement_nom: str = setting("Aisne", "Nom du département qui déploie le service.")
    departement_code: str = setting("02", "Code INSEE du département qui déploie le service.")
    logo_url: str = setting("", "URL du logo du département (vide : pas de logo).")
    color_primary: str = setting("#1d5f8a", "Couleur principale du thème (CSS).")
    color_secondary: str = setting("#f2a900", "Couleur secondaire du thème (CSS).")
    contact_email: str = setting(
        "spie@example.org", "Adresse de contact de l'équipe SPIE, affichée dans le pied de page."
    )
    tiles_url: str = setting(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "Serveur de tuiles des cartes (vide : cartes sans fond, hors ligne).",
    )
    tiles_attribution: str = setting(
        "© les contributeurs d'OpenStreetMap", "Attribution du fond de carte."
    )
    geocoder_url: str = setting(
        "", "URL de l'API de géocodage BAN (vide : centre de la commune, hors ligne)."
    )
    default_radius_km: int = setting(50, "Rayon de recherche par défaut, en kilomètres.")
    smtp_host: str = setting("localhost", "Serveur SMTP des courriels.")
    smtp_port: int = setting(25, "Port du serveur SMTP.")
    smtp_user: str = setting("", "Utilisateur SMTP (vide : sans authentification).")
    smtp_password: str = setting("", "Mot de passe SMTP.")
    smtp_tls: bool = setting(False, "Utiliser STARTTLS avec le serveur SMTP.")
    mail_from: str = setting("ne-pas-repondre@example.org", "Expéditeur des courriels.")
    base_url: str = setting("http://127.0.0.1:5000", "URL publique du service (liens des courriels).")
    session_cookie_secure: bool = setting(
        False, "Cookies de session en HTTPS seulement (à activer en production)."
    )
    moderation_before_publish: bool = setting(
        False, "Relire les nouvelles offres avant publication (sinon : publier puis relire)."
    )
    oidc_issuer: str = setting("", "Émetteur OpenID Connect (ProConnect…) ; vide : désactivé.")
    oidc_client_id: str = setting("", "Identifiant client OpenID Connect.")
    oidc_client_secret: str = setting("", "Secret client OpenID Connect.")
    search_log_retention_days: int = setting(
        396, "Durée de conservation du journal anonyme des recherches, en jours (13 mois)."
    )
    max_upload_mb: int = setting(60, "Taille maximale d'un envoi (fichier, requête), en Mo.")
    api_rate_limit_per_minute: int = setting(
        300, "Requêtes par minute permises à l'API, par jeton et par adresse IP (0 : sans limite)."
    )
    trusted_proxies: int = setting(
        0, "Nombre de mandataires inverses (proxys) devant l'application dont on croit les en-têtes X-Forwarded-* (0 : aucun)."
    )
    # --- production operations (issue 17) ---
    meilisearch_master_key: str = setting(
        "", "Clé maîtresse de Meilisearch : seulement pour `offre search keys` (création des clés restreintes)."
    )
    metrics_token: str = setting(
        "", "Jeton exigé par /metrics (en-tête Authorization: Bearer …) ; vide : /metrics fermé."
    )
    health_outbox_max_age_s: int = setting(
        600, "Âge maximal (secondes) du plus ancien changement en attente d'indexation avant que /healthz réponde 503."
    )
    log_format: str = setting("json", "Format des journaux : json (une ligne JSON par événement) ou text.")
    web_workers: int = setting(3, "Nombre de processus gunicorn de `offre serve`.")
    web_timeout_s: int = setting(
        60, "Durée maximale (secondes) d'une requête avant que gunicorn relance le processus."
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = f.metadata.get("env") or f.name.upper()
            raw = _read(environ, name)
            if raw is not None:
                values[f.name] = _convert(f, raw)
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


def _read(environ, name: str) -> str | None:
    """NAME's value, from NAME or from the file named by NAME_FILE."""
    path = environ.get(f"{name}_FILE")
    if path is None:
        return environ.get(name)
    if name in environ:
        raise ValueError(f"{name} et {name}_FILE sont tous deux définis : gardez-en un seul.")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().rstrip("\r\n")
    except OSError as exc:
        raise ValueError(f"{name}_FILE : fichier illisible ({path}) : {exc.strerror}") from exc


def _convert(f, raw: str):
    if f.type in ("bool", bool):
        return raw.strip().lower() in ("1", "true", "yes", "oui", "on")
    if f.type in ("int", int):
        return int(raw)
    return raw


def documented() -> list[tuple[str, str, object]]:
    """(environment variable, description, default) of every setting."""
    return [
        (f.metadata.get("env") or f.name.upper(), f.metadata.get("doc", ""), f.default)
        for f in fields(Settings)
    ]
