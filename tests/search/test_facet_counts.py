"""Counts that never lie: every count shown beside a filter value is the total the
search gives once that value is ticked (the issue's « Femmes (4) gives 27 »)."""

from __future__ import annotations

import re

import pytest
from werkzeug.datastructures import MultiDict

from search.facet_counts import click_counts
from search.params import query_from_args
from search.postgres import PostgresBackend

LAON = "02408"


@pytest.fixture
def catalogue(factories, db):
    f = factories
    f.ServiceFactory(nom="Permis pour les femmes", publics=["femmes"], thematiques=["mobilite--preparer-un-permis"],
                     frais="gratuit", zone_eligibilite=[LAON])
    f.ServiceFactory(nom="Garage ouvert à tous", publics=["tous-publics"], thematiques=["mobilite--entretenir-reparer-son-vehicule"],
                     frais="payant", zone_eligibilite=[LAON])
    f.ServiceFactory(nom="Atelier des jeunes", publics=["jeunes"], thematiques=["numerique--maitriser-les-fondamentaux-du-numerique"],
                     frais="gratuit", zone_eligibilite=[LAON])
    f.ServiceFactory(nom="Consultation santé", publics=["femmes", "tous-publics"], thematiques=["sante--acces-aux-soins"],
                     frais="gratuit", zone_eligibilite=[LAON])
    f.ServiceFactory(nom="Crèche solidaire", publics=["familles"], thematiques=["famille--garde-denfants"],
                     frais="payant", zone_eligibilite=[LAON])
    db.flush()


def _total(db, args: dict) -> int:
    return PostgresBackend(db).search(query_from_args(MultiDict(args))).total


SEARCHES = [
    {"code_commune": LAON},
    {"code_commune": LAON, "publics": "femmes"},
    {"code_commune": LAON, "thematiques": "mobilite"},
    {"code_commune": LAON, "thematiques": "mobilite", "frais": "gratuit"},
    {"code_commune": LAON, "publics": "jeunes", "frais": "payant"},
]
FIELD_OF = {"thematiques_spie": "thematiques", "thematiques": "thematiques", "categories": "thematiques"}


@pytest.mark.parametrize("args", SEARCHES)
def test_each_count_is_the_total_after_ticking_the_value(db, catalogue, args):
    query = query_from_args(MultiDict(args))
    counts = click_counts(PostgresBackend(db), query)
    checked = 0
    for name, values in counts.items():
        field = FIELD_OF.get(name, name)
        ticked = MultiDict(args).getlist(field)
        for value, shown in values.items():
            if value in ticked:
                continue
            clicked = MultiDict(args)
            clicked.add(field, value)
            assert shown == _total(db, clicked), f"{name}={value} shows {shown} for {args}"
            checked += 1
    assert checked >= 5


def test_a_public_counts_the_offers_open_to_everyone(db, catalogue):
    counts = click_counts(PostgresBackend(db), query_from_args(MultiDict({"code_commune": LAON})))
    # Femmes: the two for women, and the two open to everyone (one of them is both).
    assert counts["publics"]["femmes"] == _total(db, {"code_commune": LAON, "publics": "femmes"}) == 3
    # A need that is not ticked shows what ticking it gives, not 0.
    spie = click_counts(PostgresBackend(db), query_from_args(MultiDict({"code_commune": LAON, "thematiques": "mobilite"})))
    assert spie["thematiques_spie"]["sante"] == 3  # mobilité (2) or santé (1)


def test_the_results_page_shows_those_counts(client, catalogue):
    page = client.get(f"/recherche?code_commune={LAON}&thematiques=mobilite").get_data(as_text=True)
    assert re.search(r'<label for="f-them-sante">Santé <span class="count">\(3\)</span>', page)
    # Ticking a need without offers keeps the mobility ones: 2, not 0.
    assert re.search(r'<label for="f-them-logement">Logement <span class="count">\(2\)</span>', page)
    # A value that would give nothing is disabled, never a link to an empty page.
    page = client.get(f"/recherche?code_commune={LAON}&publics=jeunes").get_data(as_text=True)
    assert re.search(r'id="f-them-logement" name="thematiques" value="logement" disabled', page)
    assert not re.search(r'id="f-them-numerique" name="thematiques" value="numerique" disabled', page)
