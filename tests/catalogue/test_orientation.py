"""Orientations, the domain (catalogue/orientation.py, orientation_privacy.py,
orientation_stats.py, workdays.py): the state machine, the reminders counted in
working days, the anonymisation after the retention period, the export and the
erasure, the access log, the steering figures and the permissions."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from catalogue import orientation as o_
from catalogue import orientation_privacy as privacy
from catalogue import orientation_stats as stats
from catalogue import permissions, workdays
from catalogue.errors import ValidationError
from catalogue.orientation import Orientation, Person, PersonalDataAccess, State
from tests.auth_helpers import add_member, make_moderator, make_user

NEED = "mobilite--preparer-un-permis"


@pytest.fixture
def setup(db, factories):
    service = factories.ServiceFactory(nom="Permis solidaire")
    other = factories.StructureFactory(nom="Autre structure")
    referent = make_user(db, email="referent@example.org", nom="Rita Référente")
    member = make_user(db, email="membre@example.org")
    outsider = make_user(db, email="membre-autre@example.org")
    add_member(db, member, service.structure)
    add_member(db, outsider, other)
    db.flush()
    return {"service": service, "referent": referent, "member": member, "outsider": outsider}


def _orient(db, s, nom="Marie Curie", contact="06 12 34 56 78", now=None, **kw) -> Orientation:
    args = {"needs": [NEED], "message": "Besoin du permis pour un emploi.", "consent": True, **kw}
    found = o_.create_orientation(db, referent=s["referent"], service=s["service"],
                                  person=Person(nom, contact), now=now, **args)
    db.flush()
    return found


def test_create_records_the_consent_and_the_first_step(db, setup):
    found = _orient(db, setup)
    assert found.status == State.ENVOYEE and found.public_id and found.structure_id == setup["service"].structure_id
    assert found.consent_by_id == setup["referent"].id and found.consent_at is not None
    assert "Permis solidaire" in found.consent_purpose and setup["service"].structure.nom in found.consent_purpose
    assert [e.kind for e in found.events] == ["envoyee"] and found.events[0].actor_id == setup["referent"].id


def test_create_refuses_bad_input_naming_each_field(db, setup, factories):
    with pytest.raises(ValidationError) as exc:
        o_.create_orientation(db, referent=setup["referent"], service=setup["service"], person=Person("", "x"),
                              needs=["inconnu"], message="m" * 5000, consent=False)
    assert set(exc.value.errors) == {"nom", "contact", "besoins", "message", "consentement"}
    users_only = factories.ServiceFactory(mobilisable_par=["usagers"])
    with pytest.raises(ValidationError) as exc:
        o_.create_orientation(db, referent=setup["referent"], service=users_only, person=Person("M. C.", "par moi"),
                              needs=[NEED], message=None, consent=True)
    assert "ne reçoit pas d'orientation" in exc.value.errors["offre"][0]
    nobody = factories.ServiceFactory()  # a structure without any account
    with pytest.raises(ValidationError) as exc:
        o_.create_orientation(db, referent=setup["referent"], service=nobody, person=Person("M. C.", "par moi"),
                              needs=[NEED], message=None, consent=True)
    assert "contactez-la directement" in exc.value.errors["offre"][0]


def test_state_machine(db, setup):
    member, referent = setup["member"], setup["referent"]
    found = _orient(db, setup)
    o_.ask_information(db, found, member, "Quelle est sa date de disponibilité ?")
    assert found.status == State.INFORMATIONS and found.answered_at is not None
    with pytest.raises(ValidationError):
        o_.ask_information(db, found, member, "Encore ?")  # already asked
    o_.answer(db, found, referent, "Disponible dès lundi.")
    assert found.status == State.ENVOYEE and found.waiting_since >= found.created_at
    with pytest.raises(ValidationError) as exc:
        o_.refuse(db, found, member, "autre", "")
    assert "precisions" in exc.value.errors  # « autre » needs its free text
    with pytest.raises(ValidationError) as exc:
        o_.refuse(db, found, member, "pas-un-motif")
    assert "motif" in exc.value.errors
    o_.refuse(db, found, member, "complet", "Reprise des entrées en janvier.")
    assert found.status == State.REFUSEE and found.closed_at and found.refusal_reason == "complet"
    for move in (lambda: o_.accept(db, found, member), lambda: o_.answer(db, found, referent, "x")):
        with pytest.raises(ValidationError):
            move()
    assert [e.kind for e in found.events] == ["envoyee", "informations_demandees", "reponse", "refusee"]
    accepted = _orient(db, setup, nom="P. L.")
    o_.accept(db, accepted, member, "Rendez-vous le 3.")
    assert accepted.status == State.ACCEPTEE and not accepted.is_open


def test_permissions(db, setup, factories):
    found = _orient(db, setup)
    moderator = make_user(db, email="moderateur@example.org")
    make_moderator(db, moderator, departement="02")
    far = make_user(db, email="moderateur-80@example.org")
    make_moderator(db, far, departement="80")
    stranger = make_user(db, email="quelquun@example.org")
    admin = make_user(db, email="admin@example.org", is_admin=True)
    readers = {u.email for u in (setup["referent"], setup["member"], moderator, admin)}
    for user in (setup["referent"], setup["member"], moderator, far, stranger, setup["outsider"], admin, None):
        can = permissions.can_read_orientation(db, user, found)
        assert can == (user is not None and user.email in readers), user and user.email
    assert permissions.can_answer_orientation(db, setup["member"], found)
    assert not permissions.can_answer_orientation(db, setup["referent"], found)
    assert not permissions.can_answer_orientation(db, setup["outsider"], found)
    assert permissions.can_handle_personal_data(db, moderator, found)
    assert not permissions.can_handle_personal_data(db, far, found)
    assert not permissions.can_handle_personal_data(db, setup["member"], found)
    assert permissions.can_use_data_rights(db, moderator) and not permissions.can_use_data_rights(db, setup["member"])


def test_working_days_skip_weekends_and_french_holidays():
    friday = date(2026, 12, 18)
    assert workdays.working_days_between(friday, date(2026, 12, 21)) == 1  # the weekend does not count
    assert workdays.HOLIDAYS_KNOWN
    # Christmas (Friday 25/12/2026) is not a working day.
    assert not workdays.is_working_day(date(2026, 12, 25))
    assert workdays.working_days_between(date(2026, 12, 21), date(2026, 12, 28)) == 4


def test_reminders_count_working_days(db, setup):
    # Sent on Friday 18 December 2026 at 10:00, Paris.
    sent = datetime(2026, 12, 18, 9, 0, tzinfo=UTC)
    found = _orient(db, setup, now=sent)
    # 5 working days after: 21, 22, 23, 24, (25 holiday), 28.
    assert o_.due_reminders(db, date(2026, 12, 24), 5) == []
    assert o_.due_reminders(db, date(2026, 12, 28), 5) == [found]
    o_.record_reminder(db, found, recipients=1, now=datetime(2026, 12, 28, 7, tzinfo=UTC))
    assert found.reminders_sent == 1 and found.events[-1].kind == "relance"
    assert o_.due_reminders(db, date(2026, 12, 29), 5) == []  # not twice
    assert o_.due_reminders(db, date(2027, 1, 5), 5) == [found]  # again after 5 more working days (1/1 off)
    o_.accept(db, found, setup["member"])
    assert o_.due_reminders(db, date(2027, 2, 1), 5) == []


def test_anonymisation_after_the_retention_period(db, setup):
    now = datetime(2026, 12, 5, 12, tzinfo=UTC)
    old = _orient(db, setup, now=now - timedelta(days=800))
    o_.refuse(db, old, setup["member"], "autre", "Détail personnel du refus", now=now - timedelta(days=760))
    recent = _orient(db, setup, nom="Recent", now=now - timedelta(days=30))
    o_.accept(db, recent, setup["member"], now=now - timedelta(days=20))
    assert privacy.anonymise_expired(db, 24, now=now) == 1
    assert old.anonymised_at == now and old.person_name is None and old.person_contact is None
    assert old.message is None and old.refusal_details is None
    assert all(e.message is None for e in old.events) and old.events[-1].kind == "anonymisee"
    assert old.refusal_reason == "autre" and old.needs == [NEED]  # the figures stay
    assert recent.person_name == "Recent"
    assert privacy.anonymise_expired(db, 24, now=now) == 0  # idempotent


def test_export_and_erasure_of_a_person(db, setup):
    moderator = make_user(db, email="moderateur@example.org")
    make_moderator(db, moderator, departement="02")
    first = _orient(db, setup, nom="Jeanne  Dupont", contact="jeanne@example.org")
    second = _orient(db, setup, nom="jeanne dupont", contact="JEANNE@example.org", message="=HYPERLINK(\"x\")")
    _orient(db, setup, nom="Autre Personne", contact="autre@example.org")
    found = privacy.find_person(db, moderator, "Jeanne Dupont", "jeanne@example.org")
    assert {o.id for o in found} == {first.id, second.id}
    data = privacy.export_json(found)
    assert data["orientations"][0]["nom_ou_initiales"] == "Jeanne  Dupont"
    assert data["orientations"][0]["consentement"]["recueilli_par"] == "Rita Référente"
    rows = list(csv.reader(io.StringIO(privacy.export_csv(found).decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Orientation" and len(rows) == 3
    assert any(cell.startswith("'=HYPERLINK") for cell in rows[2])  # neutralised
    # A moderator of another département finds nothing.
    far = make_user(db, email="moderateur-80@example.org")
    make_moderator(db, far, departement="80")
    assert privacy.find_person(db, far, "Jeanne Dupont", "jeanne@example.org") == []
    assert privacy.erase_person(db, moderator, found) == 2
    assert first.person_name is None and second.message is None and first.events[-1].kind == "effacee"
    assert first.events[-1].actor_id == moderator.id
    assert privacy.find_person(db, moderator, "Jeanne Dupont", "jeanne@example.org") == []
    logged = db.scalars(select(PersonalDataAccess.action).where(PersonalDataAccess.orientation_id == first.id)).all()
    assert logged == ["effacement"]


def test_access_log(db, setup):
    found = _orient(db, setup)
    privacy.log_access(db, setup["member"], [found], "detail")
    privacy.log_access(db, setup["referent"], [found], "liste")
    rows = privacy.accesses(db, found)
    assert [(r.user_id, r.action) for r in rows] == [(setup["referent"].id, "liste"), (setup["member"].id, "detail")]
    assert rows[0].orientation_public_id == found.public_id


def test_steering_figures(db, setup, factories):
    from tests.web.cto.conftest import make_territory

    make_territory(db, "laonnois", "Laonnois", ["02408"])
    member = setup["member"]
    now = datetime.now(UTC)
    a = _orient(db, setup, now=now - timedelta(days=4))
    o_.accept(db, a, member, now=now - timedelta(days=2))
    b = _orient(db, setup, now=now - timedelta(days=3))
    o_.refuse(db, b, member, "complet", now=now - timedelta(days=2))
    c = _orient(db, setup, now=now - timedelta(days=3))
    o_.refuse(db, c, member, "hors_zone", now=now - timedelta(days=3))
    _orient(db, setup)
    figures = stats.figures(db, date.today() - timedelta(weeks=4))
    total = figures["total"]
    assert (total.sent, total.accepted, total.refused, total.waiting) == (4, 1, 2, 1)
    assert total.acceptance_pct == pytest.approx(33.3) and total.median_days == pytest.approx(1.0)
    mobility = next(g for g in figures["groups"] if g.sent)
    assert mobility.sent == 4
    assert [t.label for t in figures["territories"]] == ["Laonnois"]
    assert figures["structures"][0].label == setup["service"].structure.nom
    reasons = {r["code"]: r["count"] for r in figures["reasons"]}
    assert reasons["complet"] == 1 and reasons["hors_zone"] == 1 and reasons["autre"] == 0
