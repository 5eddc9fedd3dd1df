"""The personal data of SPIE prescriptions, handled as the GDPR asks (issue 19,
point 4; the register is docs/rgpd.md, section 2), as catalogue.orientation_privacy
does for orientations:
- the data are anonymised `retention_months` after the prescription's closure
  (terminée or non retenue); a prescription left open counts from its last
  activity (the prescription or an action of its plan changed): a forgotten file
  does not live forever. The scheduler runs it each night;
- the SPIE team of the territory exports everything about a person (right of
  access) and erases it on request (right to erasure: the person's data blanked
  now, the figures kept);
- every read is logged in `spie_prescription_read` (catalogue.prescription.log_reads).

Anonymised: the person's name (replaced), contact, commune, situation text,
availability (text and days), the free texts (closing reason, plan actions'
descriptions). Kept: territory, cohort, status, barriers, « sans véhicule », the
plan's actions (kind, barrier, offer, status), the dates, the consent trace (who
gave it, when, for what) and the referent's professional contact — the steering
counts (catalogue.prescription.by_cohort) do not change. The CTO situation's
reference was pseudonymous from the start."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from catalogue import orientation_privacy, permissions, vocabulary
from catalogue import prescription as rx
from catalogue.accounts import User
from catalogue.orientation import Orientation
from catalogue.spreadsheet import SafeCsvWriter

ANONYMISED_NAME = "Données effacées"
ANONYMISED_TEXT = ""
ANONYMISED_ACTION = "(texte effacé)"


def anonymise(prescription: rx.Prescription, now: datetime | None = None) -> None:
    """Blank the person's data and every free text; keep the figures."""
    at = now or datetime.now(UTC)
    prescription.person_name = ANONYMISED_NAME
    prescription.person_contact = None
    prescription.code_commune = None
    prescription.situation_text = ANONYMISED_TEXT
    prescription.availability = None
    prescription.days = []
    prescription.status_reason = None
    for action in prescription.actions:
        action.description = ANONYMISED_ACTION
    prescription.anonymised_at = at
    if prescription.closed_at is None:
        prescription.closed_at = at


def _months_before(at: datetime, months: int) -> datetime:
    year, month = divmod(at.year * 12 + at.month - 1 - months, 12)
    return at.replace(year=year, month=month + 1, day=min(at.day, 28))


def expired(session: Session, retention_months: int, now: datetime | None = None) -> list[rx.Prescription]:
    """The prescriptions whose retention period is over, not yet anonymised."""
    cutoff = _months_before(now or datetime.now(UTC), retention_months)
    last_action = select(func.max(rx.PlanAction.updated_at)).where(
        rx.PlanAction.prescription_id == rx.Prescription.id).scalar_subquery()
    last_activity = func.greatest(rx.Prescription.updated_at, func.coalesce(last_action, rx.Prescription.updated_at))
    return list(session.scalars(
        select(rx.Prescription).where(
            rx.Prescription.anonymised_at.is_(None),
            or_(rx.Prescription.closed_at < cutoff,
                rx.Prescription.closed_at.is_(None) & (last_activity < cutoff)),
        ).order_by(rx.Prescription.id)
    ))


def anonymise_expired(session: Session, retention_months: int, now: datetime | None = None) -> int:
    """Anonymise every prescription past its retention period; idempotent."""
    found = expired(session, retention_months, now)
    for p in found:
        anonymise(p, now=now)
    session.flush()
    return len(found)


# --- right of access and erasure --------------------------------------------------------

def _norm(value: str) -> str:
    return " ".join((value or "").split()).lower()


def _squeezed(column):
    return func.lower(func.regexp_replace(func.trim(column), r"\s+", " ", "g"))


def find_person(session: Session, user: User, nom: str, contact: str) -> list[rx.Prescription]:
    """The prescriptions of the person named exactly so (case and spaces aside)
    whose contact is the one typed — or, when the prescription has no contact of
    the person, the referent's e-mail (how the person is reached) —, among those
    `user` manages as the SPIE team of their territory."""
    nom, contact = _norm(nom), _norm(contact)
    if not nom or not contact:
        return []
    found = session.scalars(
        select(rx.Prescription).where(
            rx.Prescription.anonymised_at.is_(None),
            _squeezed(rx.Prescription.person_name) == nom,
            or_(_squeezed(rx.Prescription.person_contact) == contact,
                rx.Prescription.person_contact.is_(None) & (_squeezed(rx.Prescription.referent_email) == contact)),
        ).order_by(rx.Prescription.created_at)
    )
    return [p for p in found if permissions.can_manage_prescription(session, user, p)]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_record(prescription: rx.Prescription, territory: str | None = None) -> dict:
    """Everything held about the person in one prescription."""
    groups = vocabulary.spie_group_by_code()

    def label(code):
        return groups[code].label if code in groups else code

    return {
        "prescription": str(prescription.public_id),
        "nom_ou_initiales": prescription.person_name,
        "contact": prescription.person_contact,
        "commune": prescription.code_commune,
        "situation": prescription.situation_text,
        "freins": [label(b) for b in prescription.barriers],
        "jours_disponibles": list(prescription.days),
        "disponibilites": prescription.availability,
        "sans_vehicule": prescription.no_vehicle,
        "territoire": territory or prescription.territory_slug,
        "cohorte": rx.cohort_label(prescription.cohort),
        "statut": rx.STATUSES.get(prescription.status, prescription.status),
        "motif": prescription.status_reason,
        "referent": {"nom": prescription.referent_name, "courriel": prescription.referent_email,
                     "telephone": prescription.referent_phone, "structure": prescription.referent_structure},
        "consentement": {"donne_par": rx.CONSENT_BY.get(prescription.consent_by, prescription.consent_by),
                         "le": _iso(prescription.consent_at), "pour": prescription.consent_purpose},
        "situation_cto": prescription.situation.reference if prescription.situation else None,
        "plan": [{"type": rx.ACTION_KINDS.get(a.kind, a.kind), "frein": label(a.barrier) if a.barrier else None,
                  "action": a.description, "statut": rx.ACTION_STATUSES.get(a.status, a.status),
                  "orientation": str(a.orientation_id) if a.orientation_id else None} for a in prescription.actions],
        "envoyee_le": _iso(prescription.created_at),
        "cloturee_le": _iso(prescription.closed_at),
    }


def export_records(session: Session, prescriptions) -> list[dict]:
    names = dict(rx.territories(session))
    return [export_record(p, names.get(p.territory_slug)) for p in prescriptions]


CSV_COLUMNS = ["Prescription", "Nom ou initiales", "Contact", "Commune", "Situation", "Freins", "Jours disponibles",
               "Disponibilités", "Sans véhicule", "Territoire", "Cohorte", "Statut", "Motif", "Référent",
               "Consentement donné par", "Consentement le", "Consentement pour", "Situation CTO", "Plan d'action",
               "Envoyée le", "Clôturée le"]


def _csv_row(r: dict) -> list:
    plan = " | ".join(f"{a['type']} : {a['action']} ({a['statut']})" for a in r["plan"])
    referent = ", ".join(v for v in r["referent"].values() if v)
    return [r["prescription"], r["nom_ou_initiales"], r["contact"] or "", r["commune"] or "", r["situation"],
            ", ".join(r["freins"]), ", ".join(r["jours_disponibles"]), r["disponibilites"] or "",
            "oui" if r["sans_vehicule"] else "non", r["territoire"], r["cohorte"], r["statut"], r["motif"] or "",
            referent, r["consentement"]["donne_par"], r["consentement"]["le"], r["consentement"]["pour"],
            r["situation_cto"] or "", plan, r["envoyee_le"], r["cloturee_le"] or ""]


def export_csv(session: Session, prescriptions, bom: bool = True) -> bytes:
    """The same as CSV (UTF-8, « ; »), every cell neutralised."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = SafeCsvWriter(out, delimiter=";", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    for r in export_records(session, prescriptions):
        writer.writerow(_csv_row(r))
    return out.getvalue().encode("utf-8")


def rights_csv(session: Session, orientations, prescriptions) -> bytes:
    """The rights page's CSV: the orientations' table, then (after an empty line)
    the prescriptions' table, each with its header."""
    parts = []
    if orientations or not prescriptions:
        parts.append(orientation_privacy.export_csv(orientations))
    if prescriptions:
        parts.append(export_csv(session, prescriptions, bom=not parts))
    return b"\r\n".join(parts)


def plan_orientations(session: Session, prescription: rx.Prescription) -> list[Orientation]:
    """The orientations sent for the prescription's plan (catalogue.plan_orientation)."""
    ids = [a.orientation_id for a in prescription.actions if a.orientation_id]
    if not ids:
        return []
    return list(session.scalars(select(Orientation).where(Orientation.public_id.in_(ids),
                                                          Orientation.anonymised_at.is_(None))))


def erase_person(session: Session, user: User, prescriptions, now: datetime | None = None) -> int:
    """The right to erasure: each prescription's personal data blanked now, with
    the orientations sent for its plan (they carry the same name and contact);
    the reads logged (« droits-effacement »)."""
    rx.log_reads(session, user, list(prescriptions), "droits-effacement")
    for p in prescriptions:
        linked = plan_orientations(session, p)
        if linked:
            orientation_privacy.erase_person(session, user, linked, now=now)
        anonymise(p, now=now)
    session.flush()
    return len(prescriptions)
