"""/pilotage/orientations: figures by thematic, territory and structure, acceptance
rate, time to answer, refusals by reason; CSV with neutralised cells; aggregates
only, for the SPIE team and the CTO members."""

from __future__ import annotations

import csv
import io

from tests.web.orientation.conftest import as_user, orient_form, post


def _orient(client, world, service, **kw):
    as_user(client, world["users"]["verifie"])
    r = post(client, f"/services/{service.id}/orienter", orient_form(**kw))
    assert r.status_code == 302
    return r.headers["Location"].rsplit("/", 1)[-1]


def test_figures_and_csv(client, db, world, smtp):
    world["a"].nom = "=Structure A"  # a formula in a name must stay text in the CSV
    db.commit()
    first = _orient(client, world, world["a_pub"])
    second = _orient(client, world, world["a_pub"], nom="P. L.")
    _orient(client, world, world["a_pub"], nom="X. Y.")
    as_user(client, world["users"]["membre_a"])
    post(client, f"/orientations/{first}/decision", {"decision": "accepter"})
    post(client, f"/orientations/{second}/decision", {"decision": "refuser", "motif": "hors_zone"})
    as_user(client, world["users"]["membre_cto_a"])
    page = client.get("/pilotage/orientations")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "3 orientations envoyées" in body and "50,0 %" in body
    assert "Marie Curie" not in body and "P. L." not in body  # aggregates only
    assert "Laonnois" in body and "Mobilité" in body
    r = client.get("/pilotage/orientations.csv?tableau=structures")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[2][0] == "Structure" and rows[3][:5] == ["'=Structure A", "3", "1", "1", "1"]
    r = client.get("/pilotage/orientations.csv?tableau=motifs")
    assert "La personne habite hors de la zone d'intervention;1;100,0" in r.get_data(as_text=True)


def test_refused_and_bad_input(client, world):
    as_user(client, world["users"]["membre_a"])
    r = client.get("/pilotage/orientations", headers={"Accept": "application/json"})
    assert r.status_code == 403 and r.mimetype == "text/html" and "spie@example.org" in r.get_data(as_text=True)
    as_user(client, world["users"]["moderateur"])
    r = client.get("/pilotage/orientations.csv?tableau=personnes")
    assert r.status_code == 400 and "tableau" in r.get_data(as_text=True)
    r = client.get("/pilotage/orientations?semaines=²")
    assert r.status_code == 400 and "semaines" in r.get_data(as_text=True)
