"""The facet keys of a service (SQL function search_named_keys, table
search_thematique_key, ids in search_document.keys, migration 0010) and its
freshness date (service.fresh_date)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from catalogue import vocabulary

SPIE_JSON = Path(__file__).resolve().parents[2] / "catalogue" / "spie_thematiques.json"


def _keys(db, factories, thematiques=(), publics=(), frais=None, type_=None, modes=(), source="bench",
          mobilisable_par=()) -> set[str]:
    s = factories.ServiceFactory(thematiques=list(thematiques), publics=list(publics), frais=frais, type=type_,
                                 modes_accueil=list(modes), source=source, mobilisable_par=list(mobilisable_par))
    db.flush()
    return set(db.scalars(text("SELECT key FROM search_named_keys(ARRAY[CAST(:id AS uuid)])"), {"id": s.id}))


def _document_keys(db, service_id) -> set[str]:
    return set(
        db.scalars(
            text(
                "SELECT k.key FROM search_document d, unnest(d.keys) i JOIN search_key k ON k.id = i "
                "WHERE d.service_id = :id"
            ),
            {"id": service_id},
        )
    )


def test_database_mapping_matches_the_spie_json(db):
    """Fails when catalogue/spie_thematiques.json (or the data·inclusion vocabulary)
    changed and the keys in the database were not rewritten (search.labels.refresh_keys,
    through a migration)."""
    groups = json.loads(SPIE_JSON.read_text())["groups"]
    expected = set()
    for t in vocabulary.thematiques():
        category = t.split("--", 1)[0]
        expected.add((t, f"categories:{category}"))
        expected |= {(t, f"thematiques_spie:{g['code']}") for g in groups if category in g["categories"]}
    got = set(db.execute(text("SELECT thematique, key FROM search_thematique_key")).all())
    assert sorted(got ^ expected) == []


def test_other_facets_and_deduplication(db, factories):
    keys = _keys(
        db,
        factories,
        thematiques=["mobilite--preparer-un-permis", "mobilite--preparer-un-permis", "inconnue--x"],
        publics=["jeunes", "tous-publics"],
        frais="gratuit",
        type_="atelier",
        modes=["a-distance"],
        source="dora",
        mobilisable_par=["usagers"],
    )
    assert keys == {
        "thematiques:mobilite--preparer-un-permis",
        "thematiques:inconnue--x",
        "categories:mobilite",
        "thematiques_spie:mobilite",
        "publics:jeunes",
        "publics:tous-publics",
        "frais:gratuit",
        "types:atelier",
        "modes_accueil:a-distance",
        "sources:dora",
        "mobilisable_par:usagers",
    }
    assert _keys(db, factories, modes=["a-distance", "en-presentiel"]) == {
        "modes_accueil:a-distance",
        "modes_accueil:en-presentiel",
        "sources:bench",
    }
    assert _keys(db, factories, modes=["autre"]) == {"sources:bench"}


def test_keys_and_freshness_follow_writes_and_stay_out_of_the_audit_log(db, factories):
    s = factories.ServiceFactory(
        thematiques=["mobilite--preparer-un-permis"],
        date_maj=date(2026, 10, 1),
        # 23:30 UTC on 31 October is 1 November in Paris.
        confirmed_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
    )
    db.flush()
    db.refresh(s)
    assert "categories:mobilite" in _document_keys(db, s.id)
    assert s.fresh_date == date(2026, 11, 1)

    s.thematiques = ["numerique--acquerir-un-equipement"]
    s.confirmed_at = None
    db.flush()
    db.refresh(s)
    keys = _document_keys(db, s.id)
    assert "categories:numerique" in keys and "categories:mobilite" not in keys
    assert s.fresh_date == date(2026, 10, 1)

    audited = db.execute(
        text("SELECT action, before, after FROM audit_log WHERE record_id = :id ORDER BY id"), {"id": s.id}
    ).all()
    assert [a.action for a in audited] == ["insert", "update"]
    for a in audited:
        for values in (a.before or {}, a.after):
            assert "fresh_date" not in values
    assert "thematiques" in audited[1].after
