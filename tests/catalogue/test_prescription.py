"""SPIE prescriptions, the rules (catalogue/prescription.py) and who reads them
(catalogue/permissions.py, section « Prescriptions SPIE »)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from catalogue import cto, permissions
from catalogue import prescription as rx
from catalogue.errors import ValidationError
from tests.auth_helpers import add_member, make_moderator, make_user
from tests.web.cto.conftest import make_territory

TODAY = date.today()
NOW = datetime.now(UTC)


def form(**extra) -> dict:
    data = {
        "territoire": "laonnois", "cohorte": f"{TODAY:%Y-%m}", "personne_nom": "M. D.",
        "personne_contact": "06 00 00 00 00", "situation": "Sans emploi depuis 2 ans, sans permis.",
        "freins": ["mobilite", "garde-enfant-famille"], "jours": ["mardi", "lundi"], "disponibilites": "Matins",
        "sans_vehicule": "1", "referent_nom": "Ré Férente", "referent_courriel": "referente@example.org",
        "referent_telephone": "03 23 00 00 00", "referent_structure": "Structure A", "consentement": "oui",
        "consentement_par": "personne", "consentement_date": TODAY.isoformat(), "code_commune": "02408",
    }
    data.update(extra)
    return data


@pytest.fixture
def territories(db):
    make_territory(db, "laonnois", "Laonnois", ["02408"])
    make_territory(db, "saint-quentinois", "Saint-Quentinois", ["02691"])


@pytest.fixture
def referent(db, factories):
    user = make_user(db, email="referente@example.org")
    add_member(db, user, factories.StructureFactory())
    return user


def test_create_keeps_the_consent_and_orders_the_days(db, territories, referent):
    p = rx.create(db, referent, form(), TODAY, NOW)
    assert p.public_id and p.status == "envoyee" and p.prescriber_id == referent.id
    assert p.days == ["lundi", "mardi"] and p.no_vehicle and p.code_commune == "02408"
    assert p.consent_by == "personne" and p.consent_at.date() == TODAY and p.consent_purpose == rx.CONSENT_PURPOSE


def test_create_names_each_field_refused(db, territories, referent):
    with pytest.raises(ValidationError) as exc:
        rx.create(db, referent, form(territoire="atlantide", cohorte="1999-01", personne_nom="", freins=["lune"],
                                     jours=["jeudi", "octidi"], referent_courriel="pas-une-adresse", consentement="",
                                     consentement_par="voisin", consentement_date=(TODAY + timedelta(days=3)).isoformat(),
                                     situation="x" * 2001, code_commune="99999"), TODAY, NOW)
    assert set(exc.value.errors) == {"territoire", "cohorte", "personne_nom", "freins", "jours", "referent_courriel",
                                     "consentement", "consentement_par", "consentement_date", "situation",
                                     "code_commune"}
    assert "sans lui on ne peut pas prescrire" in exc.value.errors["consentement"][0]


def test_commune_typed_without_the_suggestions(db, territories, referent):
    assert rx.create(db, referent, form(code_commune="", commune="Laon"), TODAY, NOW).code_commune == "02408"
    with pytest.raises(ValidationError) as exc:
        rx.create(db, referent, form(code_commune="", commune="Nullepartville"), TODAY, NOW)
    assert "choisissez la commune" in exc.value.errors["code_commune"][0]


def test_to_committee_plan_progress_and_close(db, territories, referent):
    p = rx.create(db, referent, form(), TODAY, NOW)
    team = make_user(db, email="equipe@example.org")
    other = cto.create_committee(db, "saint-quentinois", TODAY + timedelta(days=20), None)
    with pytest.raises(ValidationError, match="pas celui du territoire"):
        rx.to_committee(db, p, other, team, TODAY)
    committee = cto.create_committee(db, "laonnois", TODAY + timedelta(days=20), None)
    situation = rx.to_committee(db, p, committee, team, TODAY)
    assert p.status == "au_comite" and p.situation_id == situation.id
    # pseudonymised on the agenda: a file number, never the name
    assert situation.reference.startswith("SPIE-") and "D." not in situation.reference
    with pytest.raises(ValidationError, match="déjà inscrite"):
        rx.to_committee(db, p, committee, team, TODAY)
    lever = rx.add_action(db, p, team, {"type": "levier", "frein": "mobilite", "description": "Auto-école sociale"})
    assert lever.status == "prevue" and p.status == "plan_decide" and p.actions == [lever]


def test_plan_action_refusals(db, territories, referent, factories):
    p = rx.create(db, referent, form(), TODAY, NOW)
    service = factories.ServiceFactory()
    db.flush()
    with pytest.raises(ValidationError) as exc:
        rx.add_action(db, p, referent, {"type": "magie", "frein": "lune", "description": "", "offre": "n'importe quoi"})
    assert set(exc.value.errors) == {"type", "frein", "description", "offre"}
    with pytest.raises(ValidationError) as exc:
        rx.add_action(db, p, referent, {"type": "levier", "description": "x",
                                        "offre": "00000000-0000-0000-0000-000000000000"})
    assert exc.value.errors["offre"] == ["cette offre n'existe pas"]
    a = rx.add_action(db, p, referent, {"type": "levier", "frein": "mobilite", "description": "Permis accompagné",
                                        "offre": f"http://localhost/services/{service.id}"})
    b = rx.add_action(db, p, referent, {"type": "orientation", "description": "Vers la crèche"})
    assert a.service_id == service.id and a.orientation_id is None and b.kind == "orientation"
    rx.set_action_status(a, "realisee")
    assert rx.progress(p) == (1, 2)
    rx.set_action_status(b, "abandonnee")
    assert rx.progress(p) == (1, 1)
    with pytest.raises(ValidationError):
        rx.set_action_status(a, "peut-etre")
    with pytest.raises(ValidationError, match="dites pourquoi"):
        rx.close(p, "non_retenue", "")
    rx.close(p, "terminee", None)
    assert p.status == "terminee"
    with pytest.raises(ValidationError, match="close"):
        rx.add_action(db, p, referent, {"type": "levier", "description": "trop tard"})
    rx.close(p, "rouvrir", None)
    assert p.status == "plan_decide"


def test_by_cohort_counts_statuses_and_actions(db, territories, referent):
    p1 = rx.create(db, referent, form(), TODAY, NOW)
    rx.create(db, referent, form(), TODAY, NOW)
    rx.add_action(db, p1, referent, {"type": "levier", "description": "Une action"})
    rx.set_action_status(p1.actions[0], "realisee")
    db.flush()
    rows = rx.by_cohort(db)
    assert len(rows) == 1
    row = rows[0]
    assert row["territoire"] == "Laonnois" and row["total"] == 2 and row["envoyee"] == 1
    assert row["plan_decide"] == 1 and row["actions"] == 1 and row["done"] == 1


def test_who_reads_a_prescription(db, territories, referent, factories):
    p = rx.create(db, referent, form(), TODAY, NOW)
    admin = make_user(db, email="admin@example.org", is_admin=True)
    moderator_02 = make_user(db, email="moderation@example.org")
    make_moderator(db, moderator_02, departement="02")
    moderator_b = make_user(db, email="moderation-b@example.org")
    make_moderator(db, moderator_b, territory="saint-quentinois")
    territory_team = make_user(db, email="equipe-laon@example.org")
    cto.grant(db, territory_team.id, territory_slug="laonnois")
    committee_member = make_user(db, email="comite@example.org")
    cto.grant(db, committee_member.id, committee=cto.create_committee(db, "laonnois", TODAY + timedelta(days=9), None))
    colleague = make_user(db, email="collegue@example.org")
    add_member(db, colleague, factories.StructureFactory())
    nobody = make_user(db, email="inscrit@example.org")
    for user in (referent, admin, moderator_02, territory_team):
        assert permissions.can_read_prescription(db, user, p), user.email
    for user in (moderator_b, committee_member, colleague, nobody, None):
        assert not permissions.can_read_prescription(db, user, p)
    assert permissions.can_manage_prescription(db, territory_team, p)
    assert not permissions.can_manage_prescription(db, referent, p)
    assert permissions.can_prescribe(db, colleague) and permissions.can_prescribe(db, committee_member)
    assert not permissions.can_prescribe(db, nobody)
    assert permissions.is_spie_team(db, territory_team) and not permissions.is_spie_team(db, committee_member)
    rx.log_reads(db, territory_team, [p], "fiche")
    assert [(r["email"], r["what"]) for r in rx.reads_of(db, p)] == [("equipe-laon@example.org", "la fiche")]
