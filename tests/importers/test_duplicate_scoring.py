"""The duplicate scorer (importers/matching.py), without a database: the pairs that
the former matcher linked wrongly, true duplicates written differently, and the
labelled set of tests/data/duplicate_pairs.json (bench/duplicates.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from importers import matching

# bench/duplicates.py, loaded by its path (bench/ is not a package).
_spec = importlib.util.spec_from_file_location(
    "bench_duplicates", Path(__file__).resolve().parents[2] / "bench" / "duplicates.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def labelled():
    return bench.load()


@pytest.fixture(scope="module")
def national(labelled):
    """Word rarity as a national-shaped catalogue gives it."""
    return bench.catalogue_of(labelled)


@pytest.fixture(params=["national", "first-import"])
def catalogue(request, national):
    if request.param == "national":
        return national
    # A first import: the catalogue holds only a few records.
    return matching.Catalogue.of([
        ("France Services Paris 18e Arrondissement",), ("Agence France Travail Paris 18e Arrondissement",),
        ("Emmaüs Lyon 3e",), ("France Services Lyon 3e",), ("Association Le Lien Mérignac",),
        ("Association Rebond Mérignac",), ("CCAS de Mérignac",), ("Centre communal d'action sociale Mérignac",),
    ])


def rec(nom, commune, **fields):
    return matching.record(nom, communes=[commune], **fields)


@pytest.mark.parametrize("a, b, distance", [
    (rec("France Services Paris 18e Arrondissement", "Paris 18e Arrondissement", adresse="1 place Jules-Joffrin"),
     rec("Agence France Travail Paris 18e Arrondissement", "Paris 18e Arrondissement",
         adresse="15 rue Championnet"), 420),
    (rec("Emmaüs Lyon 3e", "Lyon 3e Arrondissement", siret="77567078200039"),
     rec("France Services Lyon 3e", "Lyon 3e Arrondissement", siret="21690123100011"), 120),
    (rec("Association Le Lien Mérignac", "Mérignac", telephone="05 56 12 34 56"),
     rec("Association Rebond Mérignac", "Mérignac", telephone="05 56 98 76 54"), 300),
    # Without their SIRETs, still two organisations.
    (rec("Emmaüs Lyon 3e", "Lyon 3e Arrondissement"), rec("France Services Lyon 3e", "Lyon 3e Arrondissement"), 120),
    (rec("Association Le Lien Mérignac", "Mérignac"), rec("Association Rebond Mérignac", "Mérignac"), 30),
])
def test_the_pairs_the_former_matcher_linked_are_not_hidden(a, b, distance, catalogue):
    match = matching.structure_match(a, b, distance, catalogue)
    assert not match.hide, match
    assert not match.suggest, match


def test_different_sirets_are_never_duplicates(national):
    a = rec("Mission locale du Pays de Laon", "Laon", siret="31234567800025", telephone="03 23 00 00 00")
    b = rec("Mission locale du Pays de Laon", "Laon", siret="31234567800033", telephone="03 23 00 00 00")
    match = matching.structure_match(a, b, 0, national)
    assert match.score == 0 and match.reasons == ["SIRET différents"]


@pytest.mark.parametrize("a, b, distance", [
    # Acronym and long form, a missing SIRET, a phone written another way.
    (rec("CCAS de Mérignac", "Mérignac", siret="26330281500019", telephone="05 56 55 66 50",
         adresse="60 avenue du Maréchal de Lattre de Tassigny"),
     rec("Centre communal d'action sociale Mérignac", "Mérignac", telephone="+33 5 56 55 66 50",
         adresse="60 av. du Maréchal-de-Lattre-de-Tassigny"), 35),
    # Accents and case, the commune dropped, the same e-mail and website.
    (rec("Association Le Lien Mérignac", "Mérignac", courriel="contact@lelien-merignac.fr",
         site_web="https://www.lelien-merignac.fr"),
     rec("ASSOCIATION LE LIEN", "Mérignac", courriel="Contact@LeLien-Merignac.fr", site_web="lelien-merignac.fr/"), 60),
    # A typo and the dotted acronym.
    (rec("Secours Populaire Français - Comité de Bordeaux", "Bordeaux", telephone="05 56 00 11 22"),
     rec("Secours Populaire Francais comité Bordeaux", "Bordeaux", telephone="0556001122"), 15),
])
def test_true_duplicates_are_hidden(a, b, distance, national):
    match = matching.structure_match(a, b, distance, national)
    assert match.hide, match


def test_a_same_address_and_phone_under_other_names_is_only_proposed(national):
    # Two names of which nothing says they are one (a maison de l'emploi and a Cap emploi
    # can share a door and a switchboard): the rest makes it a suggestion for a moderator,
    # never a hidden record.
    a = rec("Maison de l'emploi Gisors", "Gisors", telephone="02 34 47 70 68", adresse="116 rue de l'Église")
    b = rec("Cap emploi Gisors", "Gisors", telephone="0234477068", adresse="116, r. de l'Eglise")
    match = matching.structure_match(a, b, 20, national)
    assert match.suggest and not match.hide


def test_a_known_other_name_of_one_organisation_is_the_same_name(national):
    # Pôle emploi became France Travail on 1 January 2024; producers still write both.
    a = rec("Pôle emploi Gisors", "Gisors", telephone="02 34 47 70 68", adresse="116 rue de l'Église")
    b = rec("France Travail agence de Gisors", "Gisors", telephone="0234477068", adresse="116, r. de l'Eglise")
    assert matching.structure_match(a, b, 20, national).hide
    assert matching.words("Hôtel de ville de Laon") == matching.words("Mairie de Laon")
    assert matching.words("Les Restos du Cœur") == matching.words("Les Restaurants du Cœur")
    assert matching.words("SPF Laon") == matching.words("Secours populaire français Laon")
    # Only whole words: « spfx » and « mdsa » are not aliases.
    assert matching.words("spfx mdsa") == ("spfx", "mdsa")


def test_two_numbered_branches_are_not_one():
    cat = matching.Catalogue()
    a = rec("Les Restos du Cœur Lyon 3", "Lyon 3e Arrondissement")
    b = rec("Les Restos du Cœur Lyon 8", "Lyon 8e Arrondissement")
    assert not matching.structure_match(a, b, 400, cat).suggest


def test_words_are_folded_and_dotted_acronyms_joined():
    assert matching.words("C.C.A.S. de Saint-Quentin") == ("ccas", "saint", "quentin")
    assert matching.words("Paris 18ème arrondissement") == ("paris", "18", "arrondissement")
    assert matching.words("Restos du Cœur (association loi 1901)") == ("restaurants", "coeur", "association")
    assert matching.phone_key("+33 (0)3 23 45 67 89") == matching.phone_key("03.23.45.67.89") == "323456789"
    assert matching.host_key("HTTP://www.Exemple.fr/contact") == matching.host_key("exemple.fr") == "exemple.fr"
    assert matching.host_key("https://www.facebook.com/asso") is None  # a platform, not a site
    boxed, plain = matching.record("x", adresse="BP 12, 116 r. du Salleron"), matching.record(
        "x", adresse="116 rue du Salleron CS 30012")
    assert (boxed.number, boxed.street) == (plain.number, plain.street) == ("116", ("rue", "salleron"))


def test_rare_words_weigh_more_than_frequent_ones(national):
    assert national.weight("rebond") > 3 * national.weight("france")
    assert national.weight("association") < national.weight("emmaus")


def test_offers_of_one_organisation_need_close_names(national):
    cat = matching.Catalogue.of([(n,) for n in (
        "Aide au permis de conduire des jeunes", "Aide au permis de conduire pour les jeunes",
        "Atelier cuisine du mardi", "Accompagnement numérique", "Accompagnement numérique des seniors",
        "Aide alimentaire", "Aide aux démarches administratives")])
    same = matching.service_match(matching.words("Aide au permis de conduire des jeunes"),
                                  matching.words("Aide au permis de conduire pour les jeunes"), 1.0, cat)
    assert same.hide
    other = matching.service_match(matching.words("Aide alimentaire"),
                                   matching.words("Aide aux démarches administratives"), 1.0, cat)
    assert not other.suggest
    # The same offer under a structure only proposed as a duplicate: proposed, not hidden.
    proposed = matching.service_match(matching.words("Accompagnement numérique"),
                                      matching.words("Accompagnement numérique"), 0.7, cat)
    assert proposed.suggest and not proposed.hide


def test_labelled_set_targets(labelled, national):
    """On the held-out half of the labelled set (thresholds chosen on the other half):
    hiding is precise; most true duplicates are hidden, nearly all are at least proposed.
    Recall of the hiding decision is about 0.79, below the 0.85 aimed at: the true
    duplicates left are mostly names written with other words (« Pôle emploi » /
    « France Travail », « Mairie » / « Hôtel de ville »), only proposed (see README)."""
    pairs = [p for p in labelled["pairs"] if p["split"] == "test"]
    assert len(labelled["pairs"]) >= 500 and sum(p["label"] for p in pairs) > 150
    scored = [r for r in bench.score_pairs(labelled, national) if r[0]["split"] == "test"]
    precision, recall, *_ = bench.precision_recall(scored, matching.HIDE)
    assert precision >= 0.97 and recall >= 0.78, (precision, recall)
    precision, recall, *_ = bench.precision_recall(scored, matching.SUGGEST, hide=False)
    assert recall >= 0.9 and precision >= 0.85, (precision, recall)


def test_names_made_only_of_words_every_record_has_still_compare():
    # Every offer of the catalogue is named alike: the words weigh little, not nothing.
    cat = matching.Catalogue.of_names([("Accompagnement vers l'emploi", 1800)])
    a, b = matching.words("Accompagnement vers l'emploi"), matching.words("ACCOMPAGNEMENT VERS L'EMPLOI")
    assert matching.name_similarity(a, b, cat.weight) == 1.0
    assert matching.service_match(a, b, 1.0, cat).hide
