"""SPIE prescriptions and the GDPR (catalogue/prescription_privacy.py): the
anonymisation after the retention period (closed ones from their closure, open
ones from their last activity), the export of a person's data (right of access)
and their erasure on request, each read logged."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from catalogue import prescription as rx
from catalogue import prescription_privacy as privacy
from catalogue.errors import ValidationError
from catalogue.orientation import Orientation
from tests.auth_helpers import add_member, make_moderator, make_user
from tests.catalogue.test_prescription import form
from tests.web.cto.conftest import make_territory

TODAY = date.today()
NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=800)  # more than 24 months


@pytest.fixture
def territories(db):
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    make_territory(db, "saint-quentinois", "Saint-Quentinois", ["02691"])


@pytest.fixture
def referent(db, factories):
    user = make_user(db, email="referente@example.org")
    add_member(db, user, factories.StructureFactory())
    return user


def _old(db, p, at=LONG_AGO):
    """As if nothing had happened to `p` since `at`."""
    p.updated_at = at
    db.flush()


def test_anonymised_after_the_retention_period_not_before(db, territories, referent):
    closed_old = rx.create(db, referent, form(personne_nom="Ancienne Personne"), TODAY, NOW)
    rx.add_action(db, closed_old, referent, {"type": "levier", "frein": "mobilite",
                                             "description": "Permis pour Ancienne Personne"})
    rx.set_action_status(closed_old.actions[0], "realisee")
    rx.close(closed_old, "non_retenue", "Déménage chez sa sœur", now=LONG_AGO)
    closed_recent = rx.create(db, referent, form(personne_nom="Récente"), TODAY, NOW)
    rx.close(closed_recent, "terminee", None, now=NOW - timedelta(days=30))
    db.flush()
    before = rx.by_cohort(db)
    assert privacy.anonymise_expired(db, 24, now=NOW) == 1
    p = closed_old
    assert p.anonymised_at == NOW and p.person_name == privacy.ANONYMISED_NAME
    assert p.person_contact is None and p.code_commune is None and p.situation_text == ""
    assert p.availability is None and p.days == [] and p.status_reason is None
    assert p.actions[0].description == privacy.ANONYMISED_ACTION
    # the figures and the consent trace stay
    assert p.status == "non_retenue" and p.barriers == ["mobilite", "garde-enfant-famille"] and p.no_vehicle
    assert p.consent_by == "personne" and p.consent_at and p.consent_purpose == rx.CONSENT_PURPOSE
    assert p.actions[0].status == "realisee" and p.closed_at == LONG_AGO
    assert rx.by_cohort(db) == before
    assert closed_recent.person_name == "Récente" and closed_recent.anonymised_at is None
    assert privacy.anonymise_expired(db, 24, now=NOW) == 0  # idempotent
    # An anonymised prescription is no longer worked on.
    with pytest.raises(ValidationError):
        rx.close(p, "rouvrir", None)


def test_open_prescriptions_count_from_their_last_activity(db, territories, referent):
    stale = rx.create(db, referent, form(personne_nom="Oubliée"), TODAY, NOW)
    _old(db, stale)
    active = rx.create(db, referent, form(personne_nom="Suivie"), TODAY, NOW)
    rx.add_action(db, active, referent, {"type": "levier", "description": "En cours"})
    _old(db, active)  # the prescription untouched, but its plan moved lately
    fresh = rx.create(db, referent, form(personne_nom="Nouvelle"), TODAY, NOW)
    assert privacy.expired(db, 24, now=NOW) == [stale]
    assert privacy.anonymise_expired(db, 24, now=NOW) == 1
    assert stale.person_name == privacy.ANONYMISED_NAME and stale.closed_at == NOW
    assert stale.status == "envoyee"  # the outcome is not made up
    with pytest.raises(ValidationError, match="close"):
        rx.add_action(db, stale, referent, {"type": "levier", "description": "trop tard"})
    assert active.anonymised_at is None and fresh.anonymised_at is None


def test_export_of_a_person(db, territories, referent):
    moderator = make_user(db, email="moderateur@example.org")
    make_moderator(db, moderator, departement="02")
    first = rx.create(db, referent, form(personne_nom="Jeanne  Dupont", personne_contact="jeanne@example.org",
                                         situation='=HYPERLINK("http://x")'), TODAY, NOW)
    second = rx.create(db, referent, form(personne_nom="jeanne dupont", personne_contact=""), TODAY, NOW)
    rx.create(db, referent, form(personne_nom="Jeanne Dupont", personne_contact="autre@example.org"), TODAY, NOW)
    # with her contact; and, where the prescription has none, the referent's e-mail
    assert privacy.find_person(db, moderator, "Jeanne Dupont", "JEANNE@example.org ") == [first]
    assert privacy.find_person(db, moderator, "jeanne dupont", "referente@example.org") == [second]
    assert privacy.find_person(db, moderator, "Jeanne", "jeanne@example.org") == []
    records = privacy.export_records(db, [first])
    r = records[0]
    assert r["nom_ou_initiales"] == "Jeanne  Dupont" and r["contact"] == "jeanne@example.org"
    assert r["territoire"] == "Laonnois" and r["commune"] == "02408" and r["jours_disponibles"] == ["lundi", "mardi"]
    assert r["consentement"]["donne_par"] == "la personne elle-même" and r["referent"]["courriel"] == referent.email
    assert r["statut"] == "Envoyée à l'équipe du SPIE" and len(r["freins"]) == 2
    rows = list(csv.reader(io.StringIO(privacy.export_csv(db, [first]).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Prescription" and len(rows) == 2 and rows[1][1] == "Jeanne  Dupont"
    assert rows[1][4].startswith("'=HYPERLINK")  # neutralised
    # A team of another territory finds nothing.
    far = make_user(db, email="moderateur-sq@example.org")
    make_moderator(db, far, territory="saint-quentinois")
    assert privacy.find_person(db, far, "Jeanne Dupont", "jeanne@example.org") == []


def test_erasure_on_request(db, territories, referent, factories):
    moderator = make_user(db, email="moderateur@example.org")
    make_moderator(db, moderator, departement="02")
    service = factories.ServiceFactory(nom="Auto-école sociale")
    add_member(db, make_user(db, email="structure@example.org"), service.structure)
    db.flush()
    p = rx.create(db, referent, form(personne_nom="Jeanne Dupont", personne_contact="jeanne@example.org"), TODAY, NOW)
    action = rx.add_action(db, p, moderator, {"type": "orientation", "frein": "mobilite",
                                              "description": "Permis", "offre": str(service.id)})
    assert action.orientation_id is not None
    found = privacy.find_person(db, moderator, "Jeanne Dupont", "jeanne@example.org")
    assert privacy.erase_person(db, moderator, found) == 1
    assert p.anonymised_at is not None and p.person_name == privacy.ANONYMISED_NAME and p.person_contact is None
    sent = db.scalar(select(Orientation).where(Orientation.public_id == action.orientation_id))
    assert sent.person_name is None and sent.anonymised_at is not None  # the plan's orientation too
    assert privacy.find_person(db, moderator, "Jeanne Dupont", "jeanne@example.org") == []
    assert [(r["email"], r["what"]) for r in rx.reads_of(db, p)] == [
        ("moderateur@example.org", "la page des droits (effacement)")]
