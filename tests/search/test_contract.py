"""One contract, every engine: the national semantics, each filter, each sort,
facets, text (accents, typos, synonyms) and the keyset cursor."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text

from catalogue.models import Status
from search.contract import Sort
from search.errors import InvalidQuery
from tests.search.conftest import (
    BARENTON,
    CHIVY,
    HIRSON,
    LAON,
    LAON_EPCI,
    MARSEILLE_POINT,
    REIMS,
)


def ids(page):
    return {h.id for h in page.hits}


# --- eligibility and reach (DOMAIN.md) ------------------------------------------

def test_epci_zone(factories, search):
    s = factories.ServiceFactory(zone_eligibilite=[LAON_EPCI])
    assert s.id in ids(search(code_commune=CHIVY))
    assert s.id not in ids(search(code_commune=BARENTON))


def test_departement_zone(factories, search):
    s = factories.ServiceFactory(zone_eligibilite=["02"])
    assert s.id in ids(search(code_commune=BARENTON))
    assert s.id not in ids(search(code_commune=REIMS))


def test_france_and_empty_zones(factories, search):
    france = factories.ServiceFactory(zone_eligibilite=["france"])
    empty = factories.ServiceFactory(zone_eligibilite=[])
    found = ids(search(code_commune=REIMS))
    assert {france.id, empty.id} <= found


def test_commune_zone(factories, search):
    s = factories.ServiceFactory(zone_eligibilite=[CHIVY])
    assert s.id in ids(search(code_commune=CHIVY))
    assert s.id not in ids(search(code_commune=LAON))


def test_remote_service_beyond_radius_is_found_without_distance(factories, search):
    remote = factories.ServiceFactory(
        modes_accueil=["a-distance"], location=MARSEILLE_POINT, zone_eligibilite=["france"]
    )
    page = search(code_commune=LAON, radius_km=10)
    hit = next(h for h in page.hits if h.id == remote.id)
    assert hit.distance_m is None


def test_on_site_service_beyond_radius_is_not_found(factories, search):
    far = factories.ServiceFactory(location=MARSEILLE_POINT, zone_eligibilite=[])
    near = factories.ServiceFactory(zone_eligibilite=[])
    found = ids(search(code_commune=LAON, radius_km=10))
    assert far.id not in found and near.id in found


def test_on_site_inside_radius_whose_zone_excludes_the_commune_is_not_found(factories, search):
    s = factories.ServiceFactory(zone_eligibilite=["59"])
    assert s.id not in ids(search(code_commune=LAON))


def test_radius_is_a_parameter(factories, search):
    s = factories.ServiceFactory()  # Laon
    assert s.id not in ids(search(code_commune=HIRSON, radius_km=50))
    assert s.id in ids(search(code_commune=HIRSON, radius_km=60))


def test_no_modes_accueil_counts_as_on_site(factories, search):
    s = factories.ServiceFactory(modes_accueil=[], location=MARSEILLE_POINT)
    assert s.id not in ids(search(code_commune=LAON))
    near = factories.ServiceFactory(modes_accueil=[])
    page = search(code_commune=LAON)
    assert next(h for h in page.hits if h.id == near.id).distance_m is not None
    assert near.id in ids(search(modes_accueil=("en-presentiel",)))


def test_distance_in_metres(factories, search):
    s = factories.ServiceFactory()  # Laon
    hit = next(h for h in search(code_commune=REIMS).hits if h.id == s.id)
    assert 40_000 < hit.distance_m < 55_000


def test_point_search_uses_the_commune_under_the_point(factories, search):
    s = factories.ServiceFactory(zone_eligibilite=[LAON_EPCI])
    other = factories.ServiceFactory(zone_eligibilite=["51"])
    found = ids(search(point=(3.6244, 49.5641)))
    assert s.id in found and other.id not in found


# --- filters ---------------------------------------------------------------------

def test_thematique_category_and_spie_group(factories, search):
    permis = factories.ServiceFactory(thematiques=["mobilite--preparer-un-permis"])
    logement = factories.ServiceFactory(thematiques=["logement-hebergement--louer-un-logement"])
    assert ids(search(thematiques=("mobilite--preparer-un-permis",))) == {permis.id}
    assert ids(search(thematiques=("mobilite",))) == {permis.id}
    assert ids(search(thematiques=("logement",))) == {logement.id}  # SPIE group
    assert ids(search(thematiques=("mobilite", "logement"))) == {permis.id, logement.id}


def test_public_also_matches_tous_publics(factories, search):
    jeunes = factories.ServiceFactory(publics=["jeunes"])
    tous = factories.ServiceFactory(publics=["tous-publics"])
    seniors = factories.ServiceFactory(publics=["seniors"])
    found = ids(search(publics=("jeunes",)))
    assert found == {jeunes.id, tous.id}
    assert seniors.id not in found


def test_frais_types_mobilisable_par_sources(factories, search):
    a = factories.ServiceFactory(frais="payant", type="formation", mobilisable_par=["usagers"], source="dora")
    b = factories.ServiceFactory(frais="gratuit", type="atelier", mobilisable_par=["professionnels"])
    assert ids(search(frais=("payant",))) == {a.id}
    assert ids(search(types=("atelier",))) == {b.id}
    assert ids(search(types=("atelier", "formation"))) == {a.id, b.id}
    assert ids(search(mobilisable_par=("usagers",))) == {a.id}
    assert ids(search(sources=("dora",))) == {a.id}
    # AND across fields
    assert ids(search(frais=("payant",), types=("atelier",))) == set()


def test_modes_accueil_filter(factories, search):
    remote = factories.ServiceFactory(modes_accueil=["a-distance"], location=None)
    on_site = factories.ServiceFactory(modes_accueil=["en-presentiel"])
    both = factories.ServiceFactory(modes_accueil=["en-presentiel", "a-distance"])
    assert ids(search(modes_accueil=("a-distance",))) == {remote.id, both.id}
    assert ids(search(modes_accueil=("en-presentiel",))) == {on_site.id, both.id}


def test_structure_filter(factories, search):
    a = factories.ServiceFactory()
    factories.ServiceFactory()
    assert ids(search(structure=a.structure_id)) == {a.id}


def test_territory_filter(factories, search, db):
    db.execute(
        text("INSERT INTO geo_territory (slug, nom, communes) VALUES ('laonnois', 'Laonnois', :c)"),
        {"c": [LAON, CHIVY]},
    )
    placed = factories.ServiceFactory(code_insee=LAON)
    named = factories.ServiceFactory(code_insee="13055", location=MARSEILLE_POINT, zone_eligibilite=[LAON_EPCI])
    outside = factories.ServiceFactory(code_insee="51454", zone_eligibilite=["51"])
    found = ids(search(territory="laonnois"))
    assert placed.id in found and named.id in found and outside.id not in found
    with pytest.raises(InvalidQuery) as exc:
        search(territory="inconnu")
    assert exc.value.field == "territoire"


def test_territory_of_a_city_finds_the_offers_of_its_arrondissements(factories, search, db):
    """The catalogue places offers of Paris in their arrondissement (catalogue.places)."""
    db.execute(text("INSERT INTO geo_territory (slug, nom, communes) VALUES ('paris', 'Paris', :c)"),
               {"c": ["75056"]})
    marais = factories.ServiceFactory(code_insee="75103", zone_eligibilite=["75103"])
    elsewhere = factories.ServiceFactory(code_insee=LAON)
    found = ids(search(territory="paris"))
    assert marais.id in found and elsewhere.id not in found


def test_open_at(factories, search):
    weekday = factories.ServiceFactory(horaires_accueil="Mo-Fr 09:00-12:00")
    weekend = factories.ServiceFactory(horaires_accueil="Sa 09:00-12:00")
    factories.ServiceFactory(horaires_accueil=None)
    monday_10 = datetime(2026, 10, 5, 10, 0)
    page = search(open_at=monday_10, size=1)
    assert page.total == 1 and ids(page) == {weekday.id}
    assert ids(search(open_at=datetime(2026, 10, 10, 10, 0))) == {weekend.id}


def test_duplicates_hidden_by_default_and_published_only(factories, search, db):
    original = factories.ServiceFactory()
    duplicate = factories.ServiceFactory(duplicate_of_id=original.id, duplicate_hidden=True)
    # A duplicate only proposed to the moderators stays visible.
    proposed = factories.ServiceFactory(duplicate_of_id=original.id, duplicate_score=0.7)
    draft = factories.ServiceFactory(status=Status.BROUILLON)
    archived = factories.ServiceFactory(status=Status.ARCHIVE)
    found = ids(search())
    assert original.id in found and duplicate.id not in found and proposed.id in found
    assert draft.id not in found and archived.id not in found
    assert duplicate.id in ids(search(hide_duplicates=False))


def test_services_follow_their_structure_status(factories, search, db):
    s = factories.ServiceFactory()
    assert s.id in ids(search())
    s.structure.status = Status.ARCHIVE
    db.flush()
    assert s.id not in ids(search())
    s.structure.status = Status.PUBLIE
    db.flush()
    assert s.id in ids(search())


def test_flags_follow_later_edits(factories, search, db):
    original = factories.ServiceFactory()
    s = factories.ServiceFactory(nom="Atelier vélo")
    s.duplicate_of_id = original.id
    s.status = Status.ARCHIVE
    db.flush()
    assert s.id not in ids(search(hide_duplicates=False))
    s.status = Status.PUBLIE
    db.flush()
    assert s.id in ids(search())  # a suggested link hides nothing
    s.duplicate_hidden = True
    db.flush()
    assert s.id not in ids(search()) and s.id in ids(search(hide_duplicates=False))
    s.duplicate_hidden = False
    db.flush()
    assert s.id in ids(search())


def test_a_source_never_seen_matches_nothing(factories, search):
    factories.ServiceFactory(source="dora")
    page = search(sources=("source-inconnue",))
    assert page.total == 0 and not page.hits


# --- text --------------------------------------------------------------------------

def test_accents_ignored(factories, search):
    s = factories.ServiceFactory(nom="Aide ménagère à domicile", thematiques=["famille--soutien-aidants"])
    assert s.id in ids(search(text="menage"))
    assert s.id in ids(search(text="MÉNAGE"))


def test_typo_tolerated(factories, search):
    s = factories.ServiceFactory(nom="Recherche de logement", thematiques=["mobilite--preparer-un-permis"])
    assert s.id in ids(search(text="logemnt"))


def test_swapped_letters_tolerated(factories, search):
    s = factories.ServiceFactory(nom="Forum emploi", thematiques=["mobilite--preparer-un-permis"])
    other = factories.ServiceFactory(nom="Atelier couture", thematiques=["mobilite--preparer-un-permis"])
    found = ids(search(text="emplio"))
    assert s.id in found and other.id not in found


def test_french_stemming(factories, search):
    s = factories.ServiceFactory(nom="Ateliers de cuisine", thematiques=["remobilisation--bien-etre"])
    assert s.id in ids(search(text="atelier cuisines"))


def test_synonyms(factories, search):
    garde = factories.ServiceFactory(nom="Relais petite enfance", thematiques=["famille--garde-denfants"])
    factories.ServiceFactory(nom="Épicerie solidaire", thematiques=["equipement-et-alimentation--alimentation"])
    assert garde.id in ids(search(text="nounou"))
    assert garde.id in ids(search(text="crèche"))


def test_text_matches_structure_name_and_follows_renames(factories, search, db):
    s = factories.ServiceFactory(nom="Permanence", description="Sur rendez-vous.")
    assert s.id not in ids(search(text="Papillons"))
    s.structure.nom = "Association Les Papillons"
    db.flush()
    assert s.id in ids(search(text="papillons"))


def test_text_weights_names_above_description(factories, search):
    in_name = factories.ServiceFactory(nom="Mobilité solidaire", description="Un service.")
    in_description = factories.ServiceFactory(nom="Permanence", description="On parle aussi de mobilité.")
    page = search(text="mobilité", sort=Sort.PERTINENCE)
    order = [h.id for h in page.hits]
    assert order.index(in_name.id) < order.index(in_description.id)


def test_stop_words_only_ignores_text(factories, search):
    s = factories.ServiceFactory()
    assert s.id in ids(search(text="de la"))


# --- sorts, facets, pages -----------------------------------------------------------

def test_sort_distance(factories, search):
    near = factories.ServiceFactory()  # Laon
    far = factories.ServiceFactory(location="SRID=4326;POINT(3.2876 49.8467)")  # Saint-Quentin
    remote = factories.ServiceFactory(modes_accueil=["a-distance"], location=None)
    order = [h.id for h in search(code_commune=LAON, sort=Sort.DISTANCE).hits]
    assert order == [near.id, far.id, remote.id]


def test_sort_fraicheur(factories, search):
    old = factories.ServiceFactory(date_maj=date(2024, 1, 1))
    new = factories.ServiceFactory(date_maj=date(2026, 9, 1))
    mid = factories.ServiceFactory(date_maj=date(2025, 6, 1))
    assert [h.id for h in search(sort=Sort.FRAICHEUR).hits] == [new.id, mid.id, old.id]


def test_sort_pertinence_blends_distance_and_freshness(factories, search):
    far_old = factories.ServiceFactory(location="SRID=4326;POINT(3.2876 49.8467)", date_maj=date(2023, 1, 1))
    near_new = factories.ServiceFactory(date_maj=date(2026, 9, 1))
    page = search(code_commune=LAON, sort=Sort.PERTINENCE)
    assert [h.id for h in page.hits] == [near_new.id, far_old.id]
    assert page.hits[0].score > page.hits[1].score


def test_distance_sort_needs_a_place(search):
    with pytest.raises(InvalidQuery) as exc:
        search(sort=Sort.DISTANCE)
    assert exc.value.field == "tri"


def test_facets(factories, search):
    factories.ServiceFactory(
        thematiques=["mobilite--preparer-un-permis", "mobilite--louer-un-vehicule"],
        publics=["jeunes"], frais="payant", type="formation", modes_accueil=[], source="dora",
    )
    factories.ServiceFactory(thematiques=["logement-hebergement--louer-un-logement"])
    f = search().facets
    assert f["thematiques"] == {
        "logement-hebergement--louer-un-logement": 1,
        "mobilite--louer-un-vehicule": 1,
        "mobilite--preparer-un-permis": 1,
    }
    assert f["categories"] == {"logement-hebergement": 1, "mobilite": 1}  # a service counts once
    assert f["thematiques_spie"] == {"logement": 1, "mobilite": 1}
    assert f["publics"] == {"jeunes": 1, "tous-publics": 1}
    assert f["frais"] == {"gratuit": 1, "payant": 1}
    assert f["types"] == {"accompagnement": 1, "formation": 1}
    assert f["modes_accueil"] == {"en-presentiel": 2}
    assert f["sources"] == {"dora": 1, "test": 1}


def test_pages_and_total(factories, search):
    made = {factories.ServiceFactory().id for _ in range(7)}
    first, second, third = (search(page=n, size=3) for n in (1, 2, 3))
    assert first.total == 7 and len(first.hits) == 3 and len(third.hits) == 1
    assert ids(first) | ids(second) | ids(third) == made


def test_cursor_stable_while_rows_are_inserted(factories, search):
    original = {factories.ServiceFactory(date_maj=date(2026, 1, 1 + i)).id for i in range(12)}
    seen: list = []
    cursor = None
    for round_ in range(10):
        page = search(size=5, cursor=cursor, sort=Sort.FRAICHEUR)
        seen.extend(h.id for h in page.hits)
        # New rows arrive between pages, some sorting before, some after the cursor.
        factories.ServiceFactory(date_maj=date(2026, 6, 1 + round_))
        factories.ServiceFactory(date_maj=date(2025, 1, 1 + round_))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == len(set(seen))  # no duplicates
    assert original <= set(seen)  # no gaps


def test_cursor_of_another_search_is_refused(factories, search):
    for _ in range(3):
        factories.ServiceFactory()
    cursor = search(size=1).next_cursor
    assert cursor
    with pytest.raises(InvalidQuery) as exc:
        search(size=1, cursor=cursor, frais=("payant",))
    assert exc.value.field == "cursor"


def test_unknown_commune(search):
    with pytest.raises(InvalidQuery) as exc:
        search(code_commune="99999")
    assert exc.value.field == "code_commune"


