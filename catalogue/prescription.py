"""SPIE prescriptions (migration 0021_feat_prescr): a referent of any partner
prescribes a person into the SPIE (« fiche de prescription »); the SPIE team of the
territory puts it on a committee's agenda as a CTO situation (pseudonymised: a
reference, never the name), records the action plan decided in committee (levers
and orientations), and the referent follows its progress.

Personal data (the person's name or initials, contact, situation, availability)
are read only by the prescriber and the SPIE team of the territory
(catalogue.permissions, section « Prescriptions SPIE »); every read is logged in
`spie_prescription_read` (who, when, what page); URLs carry a random public id.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from catalogue import cto, plan_orientation, vocabulary
from catalogue.accounts import User
from catalogue.cto import Committee, Situation
from catalogue.errors import ValidationError
from catalogue.models import Base, Service

STATUSES = {
    "envoyee": "Envoyée à l'équipe du SPIE",
    "au_comite": "Inscrite à un comité",
    "plan_decide": "Plan d'action décidé",
    "terminee": "Accompagnement terminé",
    "non_retenue": "Non retenue",
}
OPEN_STATUSES = ("envoyee", "au_comite", "plan_decide")
ACTION_KINDS = {"levier": "Levier", "orientation": "Orientation vers une structure"}
ACTION_STATUSES = {"prevue": "Prévue", "en_cours": "En cours", "realisee": "Réalisée", "abandonnee": "Abandonnée"}
CONSENT_BY = {"personne": "la personne elle-même", "representant": "son représentant légal"}
CONSENT_PURPOSE = (
    "Transmettre sa situation à l'équipe du SPIE, l'examiner en comité technique (CTO) "
    "sous une référence sans son nom, et suivre le plan d'action décidé, y compris "
    "l'orienter vers les structures retenues."
)
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
COHORTS_AHEAD = 6
READ_PAGES = {"fiche": "la fiche", "mes-prescriptions": "« Mes prescriptions »",
              "liste-equipe": "la liste de l'équipe du SPIE", "droits-recherche": "la page des droits (recherche)",
              "droits-export": "la page des droits (export)", "droits-effacement": "la page des droits (effacement)"}
LIMITS = {"personne_nom": 120, "personne_contact": 200, "situation": 2000, "disponibilites": 500,
          "referent_nom": 120, "referent_telephone": 30, "referent_courriel": 254, "referent_structure": 200,
          "motif": 500, "description": 500}
_COHORT = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+ .()-]{6,30}$")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _public_id():
    return mapped_column(UUID(as_uuid=True), unique=True, default=uuid.uuid4,
                         server_default=text("gen_random_uuid()"))


class Prescription(Base):
    """One « fiche de prescription » into the SPIE."""

    __tablename__ = "spie_prescription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[uuid.UUID] = _public_id()
    territory_slug: Mapped[str] = mapped_column(String(100), index=True)
    cohort: Mapped[str] = mapped_column(String(7))  # AAAA-MM
    status: Mapped[str] = mapped_column(String(20), default="envoyee", server_default="envoyee")
    status_reason: Mapped[str | None] = mapped_column(Text)
    # The person (personal data)
    person_name: Mapped[str] = mapped_column(Text)
    person_contact: Mapped[str | None] = mapped_column(Text)
    code_commune: Mapped[str | None] = mapped_column(String(5))
    situation_text: Mapped[str] = mapped_column(Text)
    barriers: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    days: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    availability: Mapped[str | None] = mapped_column(Text)
    no_vehicle: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The referent who prescribes
    prescriber_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    referent_name: Mapped[str] = mapped_column(Text)
    referent_phone: Mapped[str | None] = mapped_column(Text)
    referent_email: Mapped[str] = mapped_column(Text)
    referent_structure: Mapped[str | None] = mapped_column(Text)
    # The person's consent: who gave it, when, for what
    consent_by: Mapped[str] = mapped_column(String(20))
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consent_purpose: Mapped[str] = mapped_column(Text)
    # The CTO situation it became (its reference never names the person)
    situation_id: Mapped[int | None] = mapped_column(ForeignKey("cto_situation.id", ondelete="SET NULL"))
    # Retention (migration 0023_rgpd_prescr; catalogue.prescription_privacy)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    anonymised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    situation: Mapped[Situation | None] = relationship()
    actions: Mapped[list[PlanAction]] = relationship(
        back_populates="prescription", order_by="PlanAction.id", cascade="all, delete-orphan"
    )


class PlanAction(Base):
    """One action of the plan decided in committee: a lever (an offer of the
    catalogue, or a described action) or an orientation. `orientation_id` is the
    public id of the orientation sent for it (catalogue.plan_orientation)."""

    __tablename__ = "spie_plan_action"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[uuid.UUID] = _public_id()
    prescription_id: Mapped[int] = mapped_column(ForeignKey("spie_prescription.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    barrier: Mapped[str | None] = mapped_column(String(100))
    service_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("service.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="prevue", server_default="prevue")
    orientation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())

    prescription: Mapped[Prescription] = relationship(back_populates="actions")


class PrescriptionRead(Base):
    """Who read a prescription's personal data, when, on which page."""

    __tablename__ = "spie_prescription_read"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("spie_prescription.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    what: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- cohorts -------------------------------------------------------------------------------

def cohort_label(code: str) -> str:
    m = _COHORT.match(code or "")
    return f"Cohorte de {MONTHS[int(m.group(2)) - 1]} {m.group(1)}" if m else code


def cohort_choices(today: date) -> list[tuple[str, str]]:
    """The cohorts one may prescribe into: this month's and the next ones."""
    out = []
    year, month = today.year, today.month
    for _ in range(COHORTS_AHEAD):
        code = f"{year:04d}-{month:02d}"
        out.append((code, cohort_label(code)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# --- the form ------------------------------------------------------------------------------

def _text(data: dict, name: str, errors: dict, *, required: str | None = None) -> str | None:
    value = (data.get(name) or "").strip()
    if not value:
        if required:
            errors[name] = [required]
        return None
    if len(value) > LIMITS[name]:
        errors[name] = [f"{LIMITS[name]} caractères au plus ({len(value)} reçus)"]
    return value


def _consent(data: dict, errors: dict, today: date) -> tuple[str | None, date | None]:
    if data.get("consentement") != "oui":
        errors["consentement"] = ["cochez la case : la personne a donné son accord, sans lui on ne peut pas prescrire"]
    by = data.get("consentement_par") or ""
    if by not in CONSENT_BY:
        errors["consentement_par"] = ["dites qui a donné l'accord (la personne ou son représentant légal)"]
    raw = (data.get("consentement_date") or "").strip()
    try:
        when = date.fromisoformat(raw)
    except ValueError:
        errors["consentement_date"] = [f"une date (AAAA-MM-JJ), reçu « {raw[:20]} »"]
        return by, None
    if when > today or (today - when).days > 365:
        errors["consentement_date"] = ["la date de l'accord est dans l'année écoulée, pas dans le futur"]
    return by, when


def _territory_and_cohort(session: Session, data: dict, errors: dict, today: date) -> tuple[str, str]:
    slug = (data.get("territoire") or "").strip()
    if not slug or len(slug) > 100 or not session.scalar(
            text("SELECT 1 FROM geo_territory WHERE slug = :s"), {"s": slug}):
        errors["territoire"] = ["choisissez le territoire du SPIE dans la liste"]
    cohort = (data.get("cohorte") or "").strip()
    if cohort not in dict(cohort_choices(today)):
        errors["cohorte"] = ["choisissez une cohorte de la liste (ce mois-ci ou les suivants)"]
    return slug, cohort


def _person(session: Session, data: dict, errors: dict) -> dict:
    out = {
        "person_name": _text(data, "personne_nom", errors, required="le nom ou les initiales de la personne"),
        "person_contact": _text(data, "personne_contact", errors),
        "situation_text": _text(data, "situation", errors, required="décrivez la situation en quelques lignes"),
        "availability": _text(data, "disponibilites", errors),
        "no_vehicle": data.get("sans_vehicule") in ("1", "on", "oui"),
    }
    barriers = list(dict.fromkeys(b for b in data.get("freins", []) if b))
    known = vocabulary.spie_group_by_code()
    if not barriers:
        errors["freins"] = ["cochez au moins un frein (une des dix thématiques du SPIE)"]
    elif any(b not in known for b in barriers):
        errors["freins"] = [f"thématique inconnue « {next(b for b in barriers if b not in known)[:40]} »"]
    out["barriers"] = barriers
    days = [d for d in data.get("jours", []) if d]
    if any(d not in DAYS for d in days):
        errors["jours"] = ["jour inconnu"]
    out["days"] = [d for d in DAYS if d in days]
    code = (data.get("code_commune") or "").strip()
    typed = (data.get("commune") or "").strip()[:100]
    if not code and typed:  # typed without the suggestions (no JavaScript): its name or code
        found = session.scalars(text("SELECT code FROM geo_commune WHERE lower(nom) = lower(:n) OR code = :n "
                                     "LIMIT 2"), {"n": typed}).all()
        if len(found) == 1:
            code = found[0]
        else:
            errors["code_commune"] = [f"« {typed} » : choisissez la commune dans la liste proposée "
                                      "ou indiquez son code INSEE"]
    elif code and (len(code) != 5 or not session.scalar(text("SELECT 1 FROM geo_commune WHERE code = :c"),
                                                         {"c": code})):
        errors["code_commune"] = [f"commune inconnue « {code[:10]} »"]
    out["code_commune"] = code or None
    return out


def _referent(data: dict, errors: dict) -> dict:
    email = _text(data, "referent_courriel", errors, required="votre adresse électronique, pour l'équipe du SPIE")
    if email and "referent_courriel" not in errors and not _EMAIL.match(email):
        errors["referent_courriel"] = [f"adresse électronique invalide « {email[:60]} »"]
    phone = _text(data, "referent_telephone", errors)
    if phone and "referent_telephone" not in errors and not _PHONE.match(phone):
        errors["referent_telephone"] = [f"numéro de téléphone invalide « {phone[:30]} »"]
    return {
        "referent_name": _text(data, "referent_nom", errors, required="votre nom"),
        "referent_phone": phone,
        "referent_email": email,
        "referent_structure": _text(data, "referent_structure", errors),
    }


def create(session: Session, prescriber: User, data: dict, today: date, now: datetime) -> Prescription:
    """A prescription from the form's fields (`freins` and `jours` are lists), or
    ValidationError naming each field refused."""
    errors: dict[str, list[str]] = {}
    slug, cohort = _territory_and_cohort(session, data, errors, today)
    person = _person(session, data, errors)
    referent = _referent(data, errors)
    consent_by, consent_at = _consent(data, errors, today)
    if errors:
        raise ValidationError(errors)
    prescription = Prescription(
        territory_slug=slug, cohort=cohort, status="envoyee", prescriber_id=prescriber.id,
        consent_by=consent_by, consent_purpose=CONSENT_PURPOSE,
        consent_at=datetime.combine(consent_at, now.timetz()),
        **person, **referent,
    )
    session.add(prescription)
    session.flush()
    return prescription


# --- reading --------------------------------------------------------------------------------

def by_public_id(session: Session, public_id: uuid.UUID) -> Prescription | None:
    return session.scalar(select(Prescription).where(Prescription.public_id == public_id))


def of_prescriber(session: Session, user: User) -> list[Prescription]:
    return list(session.scalars(
        select(Prescription).where(Prescription.prescriber_id == user.id)
        .order_by(Prescription.created_at.desc()).limit(500)
    ))


def of_territories(session: Session, territories: set[str] | None, status: str | None = None) -> list[Prescription]:
    """The prescriptions of these territories (None: all), newest first."""
    query = select(Prescription).order_by(Prescription.created_at.desc()).limit(500)
    if territories is not None:
        query = query.where(Prescription.territory_slug.in_(sorted(territories)))
    if status:
        query = query.where(Prescription.status == status)
    return list(session.scalars(query))


def log_reads(session: Session, user: User, prescriptions: list[Prescription], what: str) -> None:
    """Every read of personal data: one row per prescription shown (an anonymised
    one holds none)."""
    prescriptions = [p for p in prescriptions if p.anonymised_at is None]
    if prescriptions:
        session.execute(insert(PrescriptionRead), [
            {"prescription_id": p.id, "user_id": user.id, "what": what} for p in prescriptions
        ])


def reads_of(session: Session, prescription: Prescription) -> list[dict]:
    """The latest reads: when, which page, by whom (their e-mail address)."""
    rows = session.execute(
        select(PrescriptionRead.at, PrescriptionRead.what, PrescriptionRead.user_id, User.email)
        .outerjoin(User, User.id == PrescriptionRead.user_id)
        .where(PrescriptionRead.prescription_id == prescription.id)
        .order_by(PrescriptionRead.at.desc(), PrescriptionRead.id.desc()).limit(200)
    ).all()
    return [{"at": r.at, "what": READ_PAGES.get(r.what, r.what), "user_id": r.user_id, "email": r.email}
            for r in rows]


def progress(prescription: Prescription) -> tuple[int, int]:
    """(actions done, actions of the plan), abandoned ones left out."""
    kept = [a for a in prescription.actions if a.status != "abandonnee"]
    return sum(a.status == "realisee" for a in kept), len(kept)


# --- the SPIE team's work --------------------------------------------------------------------

def new_reference(today: date) -> str:
    """A pseudonymous file number for the agenda (never the person's name)."""
    return f"SPIE-{today:%Y}-{secrets.token_hex(3).upper()}"


def to_committee(session: Session, prescription: Prescription, committee: Committee, user: User,
                 today: date) -> Situation:
    """Puts the prescription on the committee's agenda as a CTO situation (the
    rules of catalogue.cto.add_situation: 10 at most, before D-3)."""
    if prescription.situation_id is not None:
        raise ValidationError({"comite": ["cette prescription est déjà inscrite à un comité"]})
    if prescription.status not in OPEN_STATUSES or prescription.anonymised_at is not None:
        raise ValidationError({"comite": ["cette prescription est close"]})
    if committee.territory_slug != prescription.territory_slug:
        raise ValidationError({"comite": ["ce comité n'est pas celui du territoire de la prescription"]})
    if committee.date < today:
        raise ValidationError({"comite": ["ce comité a déjà eu lieu"]})
    situation = cto.add_situation(session, committee, new_reference(today), None, user.id, today=today)
    prescription.situation_id = situation.id
    prescription.status = "au_comite"
    session.flush()
    return situation


def add_action(session: Session, prescription: Prescription, user: User, data: dict) -> PlanAction:
    """One action of the plan decided in committee; the prescription's status
    becomes « plan d'action décidé »."""
    errors: dict[str, list[str]] = {}
    kind = data.get("type") or ""
    if kind not in ACTION_KINDS:
        errors["type"] = ["« levier » ou « orientation » attendu"]
    barrier = (data.get("frein") or "").strip() or None
    if barrier and barrier not in vocabulary.spie_group_by_code():
        errors["frein"] = [f"thématique inconnue « {barrier[:40]} »"]
    description = _text(data, "description", errors, required="décrivez l'action décidée")
    service_id = None
    raw = (data.get("offre") or "").strip()
    if raw:
        found = _UUID.search(raw[:300])
        if found is None:
            errors["offre"] = ["collez l'adresse de la fiche de l'offre (ou son identifiant)"]
        else:
            service_id = uuid.UUID(found.group(0))
            if not session.scalar(text("SELECT 1 FROM service WHERE id = :i"), {"i": service_id}):
                errors["offre"] = ["cette offre n'existe pas"]
    if prescription.status not in OPEN_STATUSES or prescription.anonymised_at is not None:
        errors["statut"] = ["cette prescription est close"]
    if errors:
        raise ValidationError(errors)
    orientation = None
    if kind == "orientation" and service_id is not None:  # sent to the offer's structure
        # (catalogue.plan_orientation); without an offer, an orientation outside the
        # catalogue, recorded as described.
        orientation = plan_orientation.orient(session, prescription, user, session.get(Service, service_id),
                                              barrier, description)
    action = PlanAction(prescription_id=prescription.id, kind=kind, barrier=barrier, service_id=service_id,
                        description=description, created_by_id=user.id,
                        orientation_id=orientation.public_id if orientation else None)
    session.add(action)
    prescription.status = "plan_decide"
    session.flush()
    session.refresh(prescription, ["actions"])
    return action


def set_action_status(action: PlanAction, status: str) -> None:
    if action.prescription.anonymised_at is not None:
        raise ValidationError({"statut": ["les données de cette prescription sont effacées"]})
    if status not in ACTION_STATUSES:
        raise ValidationError({"statut": [f"statut inconnu « {status[:20]} »"]})
    action.status = status


def close(prescription: Prescription, status: str, reason: str | None, now: datetime | None = None) -> None:
    """Ends the prescription: « terminee » (the plan carried out or stopped) or
    « non_retenue » (with its reason); « envoyee » reopens a non-retained one.
    `closed_at` starts the retention period (catalogue.prescription_privacy)."""
    if prescription.anonymised_at is not None:
        raise ValidationError({"statut": ["les données de cette prescription sont effacées"]})
    reason = (reason or "").strip() or None
    if status not in ("terminee", "non_retenue", "rouvrir"):
        raise ValidationError({"statut": ["« terminee », « non_retenue » ou « rouvrir » attendu"]})
    if status == "non_retenue" and not reason:
        raise ValidationError({"motif": ["dites pourquoi la prescription n'est pas retenue"]})
    if reason and len(reason) > LIMITS["motif"]:
        raise ValidationError({"motif": [f"{LIMITS['motif']} caractères au plus ({len(reason)} reçus)"]})
    if status == "rouvrir":
        prescription.status = "plan_decide" if prescription.actions else (
            "au_comite" if prescription.situation_id else "envoyee")
        prescription.status_reason = None
        prescription.closed_at = None
        return
    prescription.status = status
    prescription.status_reason = reason
    prescription.closed_at = now or datetime.now(UTC)


# --- steering (aggregates: nothing that names a person) -----------------------------------------

def by_cohort(session: Session) -> list[dict]:
    """Per territory and cohort: prescriptions by status, plan actions and those
    carried out."""
    rows = session.execute(text(
        """
        SELECT p.territory_slug, coalesce(t.nom, p.territory_slug) AS territoire, p.cohort, p.status,
               count(DISTINCT p.id) AS n,
               count(a.id) FILTER (WHERE a.status <> 'abandonnee') AS actions,
               count(a.id) FILTER (WHERE a.status = 'realisee') AS done
        FROM spie_prescription p
        LEFT JOIN geo_territory t ON t.slug = p.territory_slug
        LEFT JOIN spie_plan_action a ON a.prescription_id = p.id
        GROUP BY p.territory_slug, t.nom, p.cohort, p.status
        """
    )).all()
    out: dict[tuple, dict] = {}
    for r in rows:
        row = out.setdefault((r.territoire, r.cohort), {
            "territoire": r.territoire, "cohorte": r.cohort, "cohorte_label": cohort_label(r.cohort),
            "total": 0, "actions": 0, "done": 0, **{s: 0 for s in STATUSES},
        })
        row[r.status] = row.get(r.status, 0) + r.n
        row["total"] += r.n
        row["actions"] += r.actions
        row["done"] += r.done
    return sorted(out.values(), key=lambda r: (r["cohorte"], r["territoire"]), reverse=True)


def territories(session: Session) -> list[tuple[str, str]]:
    """(slug, name) of every territory, by name."""
    return [(r.slug, r.nom) for r in session.execute(text("SELECT slug, nom FROM geo_territory ORDER BY nom"))]


def territory_name(session: Session, slug: str) -> str:
    return session.scalar(text("SELECT nom FROM geo_territory WHERE slug = :s"), {"s": slug}) or slug


def coming_committees(session: Session, territory_slug: str, today: date) -> list[Committee]:
    """The committees of the territory whose agenda is still open (D-3)."""
    return list(session.scalars(
        select(Committee).where(Committee.territory_slug == territory_slug, Committee.agenda_deadline >= today)
        .order_by(Committee.date).limit(20)
    ))


def committee_by_public_id(session: Session, public_id: uuid.UUID) -> Committee | None:
    return session.scalar(select(Committee).where(Committee.public_id == public_id))


def action_by_public_id(prescription: Prescription, public_id: uuid.UUID) -> PlanAction | None:
    return next((a for a in prescription.actions if a.public_id == public_id), None)
