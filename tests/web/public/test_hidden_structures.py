"""An archived or unpublished structure hides its offers on every public surface:
the offer's page, the map points, their popups and the list of the map, the
search (page and API), the exports (people's and data·inclusion's) and the API
read (issue #15, point 8). Its offers come back when it is published again."""

from __future__ import annotations

import csv
import io

import pytest

from catalogue.models import Status
from catalogue.writes import archive, restore

QUERY = "code_commune=02408&thematiques=mobilite&rayon_km=30"


def _surfaces(client, service) -> dict[str, bool]:
    """Whether the offer shows, surface by surface."""
    sid = str(service.id)
    hexid = sid.replace("-", "")
    seen = {}
    seen["page"] = client.get(f"/services/{sid}").status_code == 200
    seen["popup"] = client.get(f"/carte/offres/{sid}.json").status_code == 200
    seen["points"] = hexid in client.get("/carte/groupes.json?zoom=18&bbox=3.6,49.5,3.7,49.6").get_data(as_text=True)
    seen["liste de la carte"] = "Laon" in client.get("/carte").get_data(as_text=True).split("Communes", 1)[-1]
    seen["recherche"] = service.nom in client.get(f"/recherche?{QUERY}").get_data(as_text=True)
    found = client.get(f"/api/v1/services/search?{QUERY}").get_json()
    seen["api recherche"] = sid in [i["service"]["id"] for i in found["items"]]
    rows = list(csv.reader(io.StringIO(client.get(f"/recherche/export.csv?{QUERY}").get_data().decode("utf-8-sig")),
                           delimiter=";"))
    seen["export csv"] = any(service.nom in row for row in rows)
    exported = client.get("/api/v1/export/data-inclusion/services?include_imported=true").get_json()
    seen["export data·inclusion"] = any(r.get("nom") == service.nom for r in exported["items"])
    api = client.get(f"/api/v1/services/{sid}")
    seen["api lecture"] = api.status_code == 200 and api.get_json()["status"] == "publie"
    structure = client.get(f"/api/v1/structures/{service.structure_id}").get_json() or {}
    seen["api structure"] = any(s["id"] == sid and s["status"] == "publie" for s in structure.get("services", []))
    return seen


@pytest.mark.parametrize("status", [Status.ARCHIVE, Status.BROUILLON])
def test_a_hidden_structure_hides_its_offers_everywhere(client, db, factories, status):
    structure = factories.StructureFactory(nom="Garage solidaire fermé")
    service = factories.ServiceFactory(structure=structure, nom="Location de scooters à 1 euro",
                                       thematiques=["mobilite--acceder-a-un-vehicule"], zone_eligibilite=[])
    db.commit()
    shown = _surfaces(client, service)
    assert all(shown.values()), shown  # the test sees the offer where it is public

    if status == Status.ARCHIVE:
        archive(db, structure)
    else:
        structure.status = Status.BROUILLON
    db.commit()
    shown = _surfaces(client, service)
    assert not any(shown.values()), {k: v for k, v in shown.items() if v}
    page = client.get(f"/services/{service.id}")
    assert page.status_code in (404, 410) and "<h1>" in page.get_data(as_text=True)

    restore(db, structure, Status.PUBLIE)
    db.commit()
    assert all(_surfaces(client, service).values())


def test_the_api_says_an_archived_structure_withdrew_its_offers(client, db, factories):
    structure = factories.StructureFactory()
    service = factories.ServiceFactory(structure=structure)
    archive(db, structure)
    db.commit()
    r = client.get(f"/api/v1/services/{service.id}")
    # Archived records stay readable with their status (links do not break), never as published.
    assert r.status_code == 404 or r.get_json()["status"] == "archive"
    r = client.get(f"/api/v1/structures/{structure.id}")
    assert r.status_code == 404 or all(s["status"] == "archive" for s in r.get_json()["services"])
