"""Facet keys of a service: what the search counts, and what its filters match.

Each key is `<facet>:<value>`, once per service: `thematiques:<code>`,
`categories:<category>` and `thematiques_spie:<group>` for each known thematique,
`publics:<p>`, `frais:<f>`, `types:<t>`, `sources:<s>`, `mobilisable_par:<m>`, and
`modes_accueil:a-distance` / `modes_accueil:en-presentiel` (a service without a mode
counts as on site). Counting the keys of a result set gives every facet at once.

Since migration 0010 the database computes them set-based (SQL function
`search_named_keys`, with the table `search_thematique_key` written from
`grouped_thematiques()` by search.labels.refresh_keys) into
`search_document.keys`; migrations 0009 and 0010 hold frozen copies of what this
module gave then. tests/search/test_facet_keys.py fails when the table and
`catalogue/spie_thematiques.json` diverge.
"""

from __future__ import annotations

from catalogue import vocabulary

# The date freshness counts from (column `service.fresh_date`): the latest of
# date_maj and the last confirmation, else the creation, as dates in Paris.
FRESH_DATE = (
    "coalesce(greatest(date_maj, (confirmed_at AT TIME ZONE 'Europe/Paris')::date), "
    "(created_at AT TIME ZONE 'Europe/Paris')::date)"
)


def grouped_thematiques() -> list[tuple[str, str]]:
    """(thematique, key): each known thematique's category and SPIE groups."""
    rows: list[tuple[str, str]] = []
    for c in vocabulary.categories():
        rows += [(t, f"categories:{c}") for t in vocabulary.expand_thematiques([c])]
    for g in vocabulary.spie_groups():
        rows += [(t, f"thematiques_spie:{g.code}") for t in vocabulary.expand_thematiques([g.code])]
    return sorted(rows)

