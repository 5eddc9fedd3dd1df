"""Soliguide as Soliguide means it: postal codes written as cityCode, statuses and
visibility, mobile itineraries, temporary information. The file is shaped like
Soliguide's search API (tests/data/importers/soliguide-export.json)."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from catalogue.models import Service, Status, Structure
from tests.importers.conftest import DATA, counts

EXPORT = DATA / "soliguide-export.json"


def _structure(db, lieu_id: int) -> Structure:
    return db.scalar(select(Structure).where(Structure.source == "soliguide", Structure.source_id == str(lieu_id)))


def _services(db, lieu_id: int) -> list[Service]:
    return db.scalars(
        select(Service).where(Service.source == "soliguide", Service.source_id.like(f"{lieu_id}--%"))
        .order_by(Service.source_id)
    ).all()


def _commune_of_point(db, record) -> str:
    """The commune (arrondissement first) whose contour holds the record's point."""
    return db.execute(
        text(
            "SELECT c.code FROM geo_commune c, (SELECT location::geometry AS pt FROM "
            f"{record.__tablename__} WHERE id = :id) r WHERE ST_Intersects(c.contour, r.pt) "
            "AND c.type IN ('COM', 'ARM') ORDER BY (c.type = 'ARM') DESC LIMIT 1"
        ),
        {"id": record.id},
    ).scalar()


def test_postal_codes_in_city_code_land_in_the_commune_of_the_point(db, run_import):
    report = run_import("soliguide", EXPORT)
    assert report["rejets"] == []
    expected = {
        70001: ("75103", "75003", "Paris"),  # Paris 3e: the arrondissement
        70002: ("33063", "33000", "Bordeaux"),  # no commune has the code 33000
        70003: ("12145", "12100", "Millau"),  # 12100 is Firmi's INSEE code, 77 km away
        70004: ("59340", "59495", "Leffrinckoucke"),  # 59495 is Recquignies'
        70005: ("33063", "33000", "Bordeaux"),  # no point: postal code and city name
        70006: ("74010", "74940", "Annecy"),  # Annecy-le-Vieux, merged into Annecy
    }
    for lieu_id, (code, cp, commune) in expected.items():
        structure = _structure(db, lieu_id)
        assert (structure.code_insee, structure.code_postal, structure.commune) == (code, cp, commune), lieu_id
        for service in _services(db, lieu_id):
            assert service.code_insee == code, service.source_id
        if lieu_id != 70005:
            assert _commune_of_point(db, structure) == code
        # The source's own values stay in raw.
        assert structure.raw["position"]["cityCode"] == json.loads(EXPORT.read_text())["places"][
            lieu_id - 70001]["position"]["cityCode"]
    warnings = report["avertissements"]
    assert warnings["code commune 75003 → 75103 (Paris 3e Arrondissement) d'après les coordonnées"] == 3
    assert warnings["code commune 12100 → 12145 (Millau) d'après les coordonnées"] == 2
    assert warnings["code commune 59495 → 59340 (Leffrinckoucke) d'après les coordonnées"] == 2
    assert warnings["code commune 33000 → 33063 (Bordeaux) d'après les coordonnées"] == 2
    assert warnings["code commune 33000 → 33063 (Bordeaux) d'après le code postal et le nom de la commune"] == 2
    assert warnings["code commune 74011 → 74010 (Annecy) : ancienne commune (Annecy-le-Vieux) "
                    "rattachée à la commune actuelle"] == 2
    # The point of a place without one is its commune's centre.
    assert _structure(db, 70005).location_precision.value == "commune"


def test_what_soliguide_does_not_show_is_not_public(db, run_import):
    report = run_import("soliguide", EXPORT)
    expected = {
        70001: Status.PUBLIE,
        70007: Status.BROUILLON,  # DRAFT
        70008: Status.BROUILLON,  # OFFLINE
        70009: Status.ARCHIVE,  # PERMANENTLY_CLOSED
        70010: Status.BROUILLON,  # ONLINE, visibility PRO
    }
    for lieu_id, status in expected.items():
        assert _structure(db, lieu_id).status == status, lieu_id
        assert {s.status for s in _services(db, lieu_id)} == {status}, lieu_id
    assert _structure(db, 70010).source_status == "ONLINE/PRO"
    warnings = report["avertissements"]
    assert warnings["lieu Soliguide en brouillon (DRAFT) : gardé non publié"] == 1
    assert warnings["lieu Soliguide réservé aux professionnels (visibility PRO) : gardé non publié"] == 1
    # The search's rows say the same (a row is visible when the service and its
    # structure are published).
    visible = dict(db.execute(text(
        "SELECT st.source_id, bool_or(d.visible) FROM search_document d JOIN service s ON s.id = d.service_id "
        "JOIN structure st ON st.id = s.structure_id WHERE st.source = 'soliguide' GROUP BY st.source_id"
    )).all())
    assert {k for k, v in visible.items() if not v} == {"70007", "70008", "70009", "70010"}


def test_a_second_import_is_unchanged_and_status_changes_are_applied(db, run_import, tmp_path):
    first = run_import("soliguide", EXPORT)
    assert counts(first, "structure")["crees"] == 11
    again = run_import("soliguide", EXPORT)
    assert counts(again, "structure")["inchanges"] == 11
    assert counts(again, "service")["inchanges"] == counts(first, "service")["crees"]
    assert counts(again, "service")["modifies"] == 0

    # A moderator's own decision on a record the source did not change stands...
    held = _structure(db, 70002)
    held.status = Status.BROUILLON
    db.flush()
    # ...while what changed at Soliguide is applied: the draft validated, the
    # published place closed for good, the PRO place opened to all.
    data = json.loads(EXPORT.read_text())
    by_id = {p["lieu_id"]: p for p in data["places"]}
    by_id[70007]["status"] = "ONLINE"
    by_id[70001]["status"] = "PERMANENTLY_CLOSED"
    by_id[70010]["visibility"] = "ALL"
    changed = tmp_path / "soliguide-changed.json"
    changed.write_text(json.dumps(data, ensure_ascii=False))
    third = run_import("soliguide", changed)
    assert counts(third, "structure")["modifies"] == 3
    db.expire_all()
    assert _structure(db, 70007).status == Status.PUBLIE
    assert {s.status for s in _services(db, 70007)} == {Status.PUBLIE}
    assert _structure(db, 70001).status == Status.ARCHIVE
    assert {s.status for s in _services(db, 70001)} == {Status.ARCHIVE}
    assert _structure(db, 70010).status == Status.PUBLIE
    assert _structure(db, 70002).status == Status.BROUILLON


def test_a_mobile_itinerary_is_one_service_per_crossing_point(db, run_import):
    run_import("soliguide", EXPORT)
    bus = _structure(db, 70011)
    assert (bus.code_insee, bus.commune) == ("02722", "Soissons")  # its first crossing point
    services = _services(db, 70011)
    # Two services (food, digital) × three crossing points.
    assert len(services) == 6
    food = [s for s in services if s.source_id.startswith("70011--6600000000000000000a0012--")]
    assert [s.code_insee for s in food] == ["02722", "02408", "02168"]
    assert [s.horaires_accueil for s in food] == ["Mo 09:00-12:00; PH off", "We 14:00-17:00; PH off",
                                                   "Fr 09:30-12:00; PH off"]
    assert food[0].nom == "Distribution de repas — Place de la Gare, 02200 Soissons"
    assert [_commune_of_point(db, s) for s in food] == ["02722", "02408", "02168"]
    # Every stop's page tells the whole itinerary.
    assert "Service itinérant : 3 points de passage." in food[2].description
    assert "2. Place de l'Hôtel de Ville, 02000 Laon — mercredi 14 h 00–17 h 00" in food[2].description
    assert "Sur le parking de la gare" in food[0].description


def test_temporary_information(db, run_import):
    run_import("soliguide", EXPORT)
    from datetime import date, datetime

    from catalogue import hours

    bagagerie = _structure(db, 70001)
    expression = bagagerie.horaires_accueil
    assert expression == (
        "Mo-Tu 09:00-12:00,14:00-17:00; Th 09:00-12:00,14:00-17:00; "
        "2031 Dec 20-2032 Jan 03 off; 2031 Dec 20-2032 Jan 03 We 10:00-12:00; PH off; "
        "2031 Aug 01-2031 Aug 15 off"
    )
    assert hours.is_open(expression, datetime(2031, 12, 15, 10, 0)) is True  # a Monday, usual hours
    assert hours.is_open(expression, datetime(2031, 12, 22, 10, 0)) is False  # a Monday, holiday hours
    assert hours.is_open(expression, datetime(2031, 12, 24, 11, 0)) is True  # a Wednesday, holiday hours
    assert hours.is_open(expression, datetime(2031, 8, 4, 10, 0)) is False  # summer closure
    accueil = next(s for s in _services(db, 70001) if s.source_id.endswith("a0002"))
    assert accueil.horaires_accueil == expression
    assert accueil.message_temporaire == "Plan grand froid : Distribution de duvets chaque mercredi de mars."
    assert (accueil.message_debut, accueil.message_fin) == (date(2031, 3, 1), date(2031, 3, 31))


def test_temporary_information_that_cannot_be_read_is_left_out_never_refused():
    from datetime import date

    from importers.sources import soliguide

    week = {"monday": {"open": True, "timeslot": [{"start": 900, "end": 1200}]}}
    # A date that does not exist, dates backwards, an end already past.
    for closure in ({"dateDebut": "2031-02-30T00:00:00.000Z", "dateFin": "2031-03-02T23:59:59.000Z"},
                    {"dateDebut": "2031-08-30T00:00:00.000Z", "dateFin": "2031-03-02T23:59:59.000Z"},
                    {"actif": True, "dateDebut": "2020-01-06T00:00:00.000Z", "dateFin": "2020-01-10T23:59:59.000Z"}):
        assert soliguide.opening_hours(week, closure) == "Mo 09:00-12:00"
    # A closure alone says nothing of the hours.
    assert soliguide.opening_hours({}, {"dateDebut": "2031-01-01T00:00:00.000Z"}) is None
    # Without a message, the reason of a closure to come is the message.
    temp = {"closure": {"dateDebut": "2031-01-05T00:00:00.000Z", "dateFin": None, "description": "<p>Travaux</p>"},
            "message": {"dateDebut": "2020-01-01T00:00:00.000Z", "dateFin": "2020-02-01T23:59:59.000Z",
                        "name": "Ancien message", "description": ""}}
    assert soliguide.message(temp, today=date(2030, 12, 1)) == {
        "message_temporaire": "Fermeture temporaire : Travaux", "message_debut": "2031-01-05", "message_fin": None}
