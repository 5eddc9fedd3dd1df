"""One typed settings object, read from the environment. Every setting has a
default and a one-line description (a test fails when one is undocumented).

Any setting NAME may instead be read from a file named by NAME_FILE (Docker or
systemd secrets): its content, without the final line break. Giving both is refused."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields

DEFAULT_SECRET_KEY = "dev-secret-change-me"
SECRET_KEY_MIN_BYTES = 32
DEVELOPMENT_ENVS = ("development", "test")


class SettingsError(ValueError):
    """A setting that forbids starting; the message says which and why, in French."""


def setting(default, doc: str, *, env: str | None = None):
    return field(default=default, metadata={"doc": doc, "env": env})


@dataclass(frozen=True)
class Settings:
    database_url: str = setting(
        "", "URL SQLAlchemy de la base PostgreSQL/PostGIS (postgresql+psycopg://…)."
    )
    offre_env: str = setting(
        "production",
        "Environnement : production (par défaut), development (make run) ou test (les tests) ; "
        "hors development et test, une vraie SECRET_KEY est exigée.",
    )
    secret_key: str = setting(
        DEFAULT_SECRET_KEY,
        "Clé secrète des sessions et des liens signés : 32 octets au moins, aléatoire "
        "(exigée hors development et test ; make run en crée une dans var/secret_key).",
    )
    session_idle_minutes: int = setting(
        120, "Une session sans requête pendant ce nombre de minutes est fermée."
    )
    session_max_hours: int = setting(
        12, "Une session est fermée ce nombre d'heures après la connexion, même active."
    )
    login_free_failures: int = setting(
        3,
        "Échecs de connexion permis sans attente, par compte depuis une même adresse IP (dix fois plus "
        "par adresse IP tous comptes confondus) ; au-delà, l'attente double à chaque échec.",
    )
    login_max_delay_seconds: int = setting(
        900, "Attente maximale imposée entre deux essais de connexion après des échecs, en secondes."
    )
    search_backend: str = setting(
        "postgres", "Moteur de recherche : postgres (par défaut) ou meilisearch."
    )
    search_cache_size: int = setting(
        1000, "Recherches gardées par processus (pages, réponses de l'API, comptes des filtres ; "
        "50 Ko au plus chacune), invalidées à chaque changement du catalogue ; 0 : sans cache."
    )
    search_shared_cache_size: int = setting(
        10000, "Recherches gardées pour tous les processus dans la table search_cache_entry, derrière "
        "le cache de chaque processus : une recherche calculée par l'un est lue par les autres ; "
        "invalidées à chaque changement du catalogue ; 0 : non partagé."
    )
    search_warm_searches: int = setting(
        200, "Recherches dont la part nationale est préparée par le worker de recherche après chaque "
        "changement du catalogue : sans thématique, chaque thématique SPIE et catégorie, puis les filtres "
        "les plus cherchés des quatre dernières semaines ; 0 : aucune."
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
    route_planner_url: str = setting(
        "https://www.openstreetmap.org/directions?to={lat},{lon}",
        "Calculateur d'itinéraire des pages d'offre ({lat}, {lon} : le lieu ; vide : pas de lien).",
    )
    data_inclusion_api_url: str = setting(
        "https://api.data.inclusion.gouv.fr",
        "URL de base de l'API nationale data·inclusion (offre import run data-inclusion-api).",
    )
    data_inclusion_api_token: str = setting(
        "", "Jeton d'accès à l'API nationale data·inclusion (à demander à data·inclusion ; vide : import impossible)."
    )
    default_radius_km: int = setting(50, "Rayon de recherche par défaut, en kilomètres.")
    import_max_archive_share: float = setting(
        0.2, "Part (0 à 1) des enregistrements d'une source qu'un import --snapshot peut archiver "
        "sans --force (au-delà, rien n'est archivé).",
    )
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
    pdf_max_offers: int = setting(
        200, "Nombre maximal d'offres d'un export PDF (au-delà, la page propose le CSV ou l'Excel)."
    )
    ratelimit_storage_uri: str = setting(
        "", "Stockage des compteurs de limites (redis://…, memcached://… ; vide : la base PostgreSQL).",
    )
    export_rate_limit: str = setting(
        "10/minute;60/hour", "Exports CSV et Excel d'une recherche permis par adresse IP (vide : sans limite).",
    )
    pdf_rate_limit: str = setting(
        "3/minute;20/hour", "Exports PDF d'une recherche permis par adresse IP (vide : sans limite).",
    )
    report_rate_limit: str = setting(
        "5/hour;20/day", "Signalements d'erreur permis par adresse IP (vide : sans limite).",
    )
    report_rate_limit_per_offer: str = setting(
        "3/hour;10/day", "Signalements d'erreur permis sur une même offre, toutes adresses confondues (vide : sans limite).",
    )
    account_mail_rate_limit: str = setting(
        "5/minute;30/hour",
        "Envois des formulaires d'inscription et de mot de passe oublié permis par adresse IP (vide : sans limite).",
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
    # --- selection for the person (issue 19, feat-selection) ---
    selection_max_offers: int = setting(
        30, "Nombre maximal d'offres d'une sélection pour la personne (page, impression, PDF, courriel, lien)."
    )
    selection_link_days: int = setting(
        30, "Durée de validité, en jours, d'un lien de partage d'une sélection."
    )
    selection_mail_rate_limit: str = setting(
        "5/hour;20/day", "Envois d'une sélection par courriel permis par adresse IP (vide : sans limite).",
    )
    selection_share_rate_limit: str = setting(
        "10/hour;50/day", "Liens de partage de sélection créés permis par adresse IP (vide : sans limite).",
    )

    # --- orientations (issue 19, feat-orient) ---
    orientation_attachments: bool = setting(
        False, "Pièces jointes aux orientations : refusées par défaut (false : pas de champ fichier, un envoi "
        "avec fichier est refusé, 400) ; true : jusqu'à 3 fichiers PDF, PNG ou JPEG (contenu vérifié) par "
        "orientation, gardés en base, effacés avec les données de la personne.",
    )
    orientation_attachment_max_kb: int = setting(
        2048, "Taille maximale d'une pièce jointe d'orientation, en Ko (quand ORIENTATION_ATTACHMENTS=true).",
    )
    orientation_reminder_days: int = setting(
        5, "Jours ouvrés (hors week-ends et jours fériés français) sans réponse d'une structure avant "
        "qu'une orientation lui soit rappelée par courriel (puis de nouveau tous les N jours ouvrés).",
    )
    orientation_retention_months: int = setting(
        24, "Durée de conservation des données personnelles d'une orientation, en mois après sa clôture "
        "(ensuite anonymisées par le planificateur).",
    )
    # --- SPIE prescriptions, retention (issue 19, rgpd-prescr) ---
    prescription_retention_months: int = setting(
        24, "Durée de conservation des données personnelles d'une prescription SPIE, en mois après sa clôture "
        "(terminée ou non retenue ; une prescription restée ouverte compte depuis sa dernière activité), "
        "ensuite anonymisées par le planificateur.",
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

    @property
    def is_development(self) -> bool:
        return self.offre_env in DEVELOPMENT_ENVS

    def check(self) -> None:
        """Raise SettingsError when these settings must not serve: outside development
        and tests, the secret key must be set, not the default, 32 bytes at least."""
        if self.offre_env not in (*DEVELOPMENT_ENVS, "production"):
            raise SettingsError(
                f"OFFRE_ENV : valeur inconnue « {self.offre_env} » (production, development ou test)."
            )
        if self.is_development:
            return
        if self.secret_key == DEFAULT_SECRET_KEY:
            raise SettingsError(
                "SECRET_KEY : la clé par défaut n'est permise qu'en développement (OFFRE_ENV=development). "
                "Définissez une clé aléatoire de 32 octets au moins, par exemple : "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))' "
                "(ou SECRET_KEY_FILE : un fichier qui la contient)."
            )
        if len(self.secret_key.encode()) < SECRET_KEY_MIN_BYTES:
            raise SettingsError(
                f"SECRET_KEY : trop courte ({len(self.secret_key.encode())} octets) ; {SECRET_KEY_MIN_BYTES} "
                "octets au moins, aléatoires, par exemple : python3 -c 'import secrets; print(secrets.token_urlsafe(48))'."
            )

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)


def _read(environ, name: str) -> str | None:
    """NAME's value, from NAME or from the file named by NAME_FILE."""
    path = environ.get(f"{name}_FILE")
    if path is None:
        return environ.get(name)
    if name in environ:
        raise SettingsError(f"{name} et {name}_FILE sont tous deux définis : gardez-en un seul.")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().rstrip("\r\n")
    except OSError as exc:
        raise SettingsError(f"{name}_FILE : fichier illisible ({path}) : {exc.strerror}") from exc


def _convert(f, raw: str):
    if f.type in ("bool", bool):
        return raw.strip().lower() in ("1", "true", "yes", "oui", "on")
    if f.type in ("int", int):
        return int(raw)
    if f.type in ("float", float):
        return float(raw.replace(",", "."))
    return raw


def documented() -> list[tuple[str, str, object]]:
    """(environment variable, description, default) of every setting."""
    return [
        (f.metadata.get("env") or f.name.upper(), f.metadata.get("doc", ""), f.default)
        for f in fields(Settings)
    ]
