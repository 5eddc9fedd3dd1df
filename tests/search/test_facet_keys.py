"""The facet keys precomputed per service (column service.facet_keys, SQL function
search_facet_keys of migration 0009) and its freshness date (service.fresh_date)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from catalogue import vocabulary

SPIE_JSON = Path(__file__).resolve().parents[2] / "catalogue" / "spie_thematiques.json"


def _keys(db, thematiques=(), publics=(), frais=None, type_=None, modes=(), source=None) -> set[str]:
    return set(
        db.scalar(
            text(
                "SELECT search_facet_keys(CAST(:t AS text[]), CAST(:p AS text[]), :f, :ty, "
                "CAST(:m AS text[]), :s)"
            ),
            {"t": list(thematiques), "p": list(publics), "f": frais, "ty": type_, "m": list(modes), "s": source},
        )
    )


def test_database_mapping_matches_the_spie_json(db):
    """Fails when catalogue/spie_thematiques.json (or the data·inclusion vocabulary)
    changed without a migration re-creating search_facet_keys."""
    groups = json.loads(SPIE_JSON.read_text())["groups"]
    mismatches = []
    for t in vocabulary.thematiques():
        category = t.split("--", 1)[0]
        expected = {f"thematiques:{t}", f"categories:{category}", "modes_accueil:en-presentiel"}
        expected |= {f"thematiques_spie:{g['code']}" for g in groups if category in g["categories"]}
        got = _keys(db, thematiques=[t])
        if got != expected:
            mismatches.append((t, sorted(got ^ expected)))
    assert mismatches == []


def test_other_facets_and_deduplication(db):
    keys = _keys(
        db,
        thematiques=["mobilite--preparer-un-permis", "mobilite--preparer-un-permis", "inconnue--x"],
        publics=["jeunes", "tous-publics"],
        frais="gratuit",
        type_="atelier",
        modes=["a-distance"],
        source="dora",
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
    }
    assert _keys(db, modes=["a-distance", "en-presentiel"]) == {
        "modes_accueil:a-distance",
        "modes_accueil:en-presentiel",
    }
    assert _keys(db, modes=["autre"]) == set()


def test_generated_columns_follow_writes_and_stay_out_of_the_audit_log(db, factories):
    s = factories.ServiceFactory(
        thematiques=["mobilite--preparer-un-permis"],
        date_maj=date(2026, 10, 1),
        # 23:30 UTC on 31 October is 1 November in Paris.
        confirmed_at=datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
    )
    db.flush()
    db.refresh(s)
    assert "categories:mobilite" in s.facet_keys
    assert s.fresh_date == date(2026, 11, 1)

    s.thematiques = ["numerique--acquerir-un-equipement"]
    s.confirmed_at = None
    db.flush()
    db.refresh(s)
    assert "categories:numerique" in s.facet_keys and "categories:mobilite" not in s.facet_keys
    assert s.fresh_date == date(2026, 10, 1)

    audited = db.execute(
        text("SELECT action, before, after FROM audit_log WHERE record_id = :id ORDER BY id"), {"id": s.id}
    ).all()
    assert [a.action for a in audited] == ["insert", "update"]
    for a in audited:
        for values in (a.before or {}, a.after):
            assert "facet_keys" not in values and "fresh_date" not in values
    assert "thematiques" in audited[1].after
