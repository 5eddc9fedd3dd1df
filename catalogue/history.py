"""The audit log of a record in words: who, when, which fields changed from what
to what, with French labels and vocabulary labels instead of codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from catalogue import vocabulary
from catalogue.accounts import User
from catalogue.models import STATUS_LABELS, AuditLog, Service, Status, Structure
from catalogue.schemas import parse_int

FIELD_LABELS = {
    "nom": "Nom",
    "description": "Description",
    "status": "Statut",
    "source": "Source",
    "source_id": "Identifiant dans la source",
    "date_maj": "Date de mise à jour",
    "lien_source": "Lien vers la fiche d'origine",
    "commune": "Commune",
    "code_postal": "Code postal",
    "code_insee": "Code INSEE de la commune",
    "adresse": "Adresse",
    "complement_adresse": "Complément d'adresse",
    "location": "Point sur la carte",
    "location_precision": "Précision du point",
    "telephone": "Téléphone",
    "courriel": "Courriel",
    "horaires_accueil": "Horaires d'accueil",
    "duplicate_score": "Score de doublon",
    "duplicate_of_id": "Doublon de",
    "duplicate_hidden": "Doublon masqué de la recherche",
    "structure_id": "Structure",
    "type": "Type d'offre",
    "thematiques": "Thématiques",
    "frais": "Frais",
    "frais_precisions": "Précisions sur les frais",
    "publics": "Publics",
    "publics_precisions": "Précisions sur les publics",
    "conditions_acces": "Conditions d'accès",
    "modes_accueil": "Modes d'accueil",
    "zone_eligibilite": "Zone d'éligibilité",
    "contact_nom_prenom": "Contact (nom et prénom)",
    "lien_mobilisation": "Lien de mobilisation",
    "modes_mobilisation": "Modes de mobilisation",
    "mobilisable_par": "Mobilisable par",
    "mobilisation_precisions": "Précisions sur la mobilisation",
    "volume_horaire_hebdomadaire": "Volume horaire hebdomadaire",
    "nombre_semaines": "Nombre de semaines",
    "frequence_maj_jours": "Fréquence de mise à jour (jours)",
    "confirmed_at": "Dernière confirmation",
    "siret": "SIRET",
    "site_web": "Site web",
    "accessibilite_lieu": "Accessibilité du lieu",
    "reseaux_porteurs": "Réseaux porteurs",
    "source_status": "Statut dans la source",
    "message_temporaire": "Message temporaire",
    "message_debut": "Début du message",
    "message_fin": "Fin du message",
    "id": "Identifiant",
}
PRECISIONS = {"source": "donné par la source", "adresse": "adresse géocodée", "commune": "centre de la commune"}
# Not worth showing: technical, or shown otherwise.
HIDDEN = {"id", "created_at", "updated_at", "raw"}
ACTIONS = {"insert": "Création", "update": "Modification"}


def _vocab(name: str) -> dict[str, str] | None:
    return {
        "thematiques": vocabulary.thematiques(),
        "publics": vocabulary.publics(),
        "modes_accueil": vocabulary.modes_accueil(),
        "modes_mobilisation": vocabulary.modes_mobilisation(),
        "mobilisable_par": vocabulary.mobilisable_par(),
        "reseaux_porteurs": vocabulary.reseaux_porteurs(),
        "type": vocabulary.types(),
        "frais": vocabulary.frais(),
    }.get(name)


class Names:
    """Names of the codes and ids an audit row holds (zone codes, structure and
    offer ids), looked up once per page."""

    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[str, str] = {"france": "France entière"}

    def load(self, codes: set[str], ids: set[str]) -> None:
        codes = {c for c in codes if c not in self.cache}
        if codes:
            rows = self.session.execute(
                text(
                    "SELECT code, nom FROM geo_commune WHERE code = ANY(:c) "
                    "UNION ALL SELECT code, nom FROM geo_epci WHERE code = ANY(:c) "
                    "UNION ALL SELECT code, nom FROM geo_departement WHERE code = ANY(:c)"
                ),
                {"c": list(codes)},
            )
            for code, nom in rows:
                self.cache[code] = f"{nom} ({code})"
        ids = {i for i in ids if i not in self.cache}
        if ids:
            rows = self.session.execute(
                text(
                    "SELECT id::text, nom FROM structure WHERE id::text = ANY(:i) "
                    "UNION ALL SELECT id::text, nom FROM service WHERE id::text = ANY(:i)"
                ),
                {"i": list(ids)},
            )
            for id_, nom in rows:
                self.cache[id_] = nom

    def get(self, key: str) -> str:
        return self.cache.get(key, key)


def value_words(name: str, value, names: Names | None = None) -> str:
    """A stored value as a person reads it."""
    if value is None or value == [] or value == "":
        return "(vide)"
    if names is not None and name == "zone_eligibilite" and isinstance(value, list):
        return ", ".join(names.get(v) for v in value)
    if names is not None and name in ("structure_id", "duplicate_of_id"):
        return names.get(str(value))
    if name == "status":
        try:
            return STATUS_LABELS[Status(value)]
        except ValueError:
            return str(value)
    if name == "location":
        return "point placé sur la carte"
    if name == "location_precision":
        return PRECISIONS.get(value, str(value))
    labels = _vocab(name)
    if isinstance(value, list):
        return ", ".join(labels.get(v, v) if labels else str(v) for v in value)
    if labels:
        return labels.get(value, str(value))
    if name in ("confirmed_at",) and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%d/%m/%Y %H:%M")
        except ValueError:
            return value
    if name == "date_maj" and isinstance(value, str) and len(value) == 10:
        return f"{value[8:10]}/{value[5:7]}/{value[0:4]}"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return str(value)


@dataclass
class Change:
    field: str
    label: str
    before: str
    after: str


@dataclass
class Entry:
    at: datetime
    who: str
    action: str
    changes: list[Change]


def actor_words(session: Session, actor: str | None, users: dict[int, User]) -> str:
    if not actor:
        return "système (sans auteur nommé)"
    kind, _, rest = actor.partition(":")
    if kind == "user" and (number := parse_int(rest)) is not None and number < 2**31:
        user = users.get(number) or session.get(User, number)
        if user is not None:
            users[user.id] = user
            return f"{user.nom} ({user.email})" if user.nom else user.email
        return f"compte n° {rest}"
    if kind == "import":
        return f"import de la source « {rest} »"
    if kind == "token":
        return f"API des partenaires (jeton n° {rest})"
    if kind == "public":
        return "site public (signalement)"
    if kind == "cli":
        return "ligne de commande"
    if kind == "demo":
        return "données de démonstration"
    if kind == "test":
        return f"tests automatiques ({rest})"
    return actor


def history(session: Session, record: Service | Structure) -> list[Entry]:
    """Newest first."""
    rows = session.scalars(
        select(AuditLog)
        .where(AuditLog.table_name == record.__tablename__, AuditLog.record_id == record.id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
    ).all()
    users: dict[int, User] = {}
    names = Names(session)
    codes: set[str] = set()
    ids: set[str] = set()
    for row in rows:
        for side in (row.before or {}, row.after or {}):
            codes.update(side.get("zone_eligibilite") or [])
            ids.update(str(side[k]) for k in ("structure_id", "duplicate_of_id") if side.get(k))
    names.load(codes, ids)
    entries = []
    for row in rows:
        after = row.after or {}
        before = row.before or {}
        changes = []
        for name in after:
            if name in HIDDEN:
                continue
            if row.action == "insert" and after.get(name) in (None, [], ""):
                continue
            changes.append(
                Change(
                    field=name,
                    label=FIELD_LABELS.get(name, name),
                    before=value_words(name, before.get(name), names) if row.action != "insert" else "",
                    after=value_words(name, after.get(name), names),
                )
            )
        changes.sort(key=lambda c: list(FIELD_LABELS).index(c.field) if c.field in FIELD_LABELS else 999)
        entries.append(Entry(row.at, actor_words(session, row.actor, users), ACTIONS.get(row.action, row.action), changes))
    return entries
