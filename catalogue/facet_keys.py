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

In Python the keys are written by `key` (and `thematique_key`, `public_filter_keys`
for what a filter matches) only; the SQL functions write the same shape.
"""

from __future__ import annotations

from catalogue import vocabulary

# The date freshness counts from (column `service.fresh_date`): the latest of
# date_maj and the last confirmation, else the creation, as dates in Paris.
FRESH_DATE = (
    "coalesce(greatest(date_maj, (confirmed_at AT TIME ZONE 'Europe/Paris')::date), "
    "(created_at AT TIME ZONE 'Europe/Paris')::date)"
)


def key(facet: str, value: str) -> str:
    """The key of one value of a facet: `publics:jeunes`."""
    return f"{facet}:{value}"


def thematique_key(code: str) -> str | None:
    """The key of a thematique, a category or a SPIE group code; None for an unknown
    code."""
    if code in vocabulary.thematiques():
        return key("thematiques", code)
    if code in vocabulary.categories():
        return key("categories", code)
    if code in vocabulary.spie_group_by_code():
        return key("thematiques_spie", code)
    return None


def public_filter_keys(publics) -> list[str]:
    """The keys a filter on these publics matches: a public also matches « tous
    publics » (sorted, each once)."""
    return [key("publics", p) for p in sorted({*publics, vocabulary.TOUS_PUBLICS})]


def grouped_thematiques() -> list[tuple[str, str]]:
    """(thematique, key): each known thematique's category and SPIE groups."""
    rows: list[tuple[str, str]] = []
    for c in vocabulary.categories():
        rows += [(t, key("categories", c)) for t in vocabulary.expand_thematiques([c])]
    for g in vocabulary.spie_groups():
        rows += [(t, key("thematiques_spie", g.code)) for t in vocabulary.expand_thematiques([g.code])]
    return sorted(rows)

