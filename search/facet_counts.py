"""Facet counts that never lie: for each value of a filter, the number of results
the person gets by ticking it — the search with that value added, under the
search's own rules (OR within one filter, AND across filters; a public also matches
« tous publics »; a SPIE group or a category matches any of its thematiques). For a
value already ticked, the number of current results that have it.

Counted from the key sets of the result set (PostgresBackend.key_sets): one query
for the search as it is, and one per filter that has a selection (that filter left
out), whatever engine served the page — the catalogue is the truth."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from sqlalchemy import text

from catalogue import vocabulary
from search.contract import SearchQuery
from search.postgres import KEY_FILTER_FIELDS, PostgresBackend, filter_keys

# query field -> the facet names (key prefixes) whose values it takes
FACET_NAMES = {
    "thematiques": ("thematiques_spie", "thematiques", "categories"),
    "publics": ("publics",),
    "frais": ("frais",),
    "types": ("types",),
    "modes_accueil": ("modes_accueil",),
    "mobilisable_par": ("mobilisable_par",),
    "sources": ("sources",),
}
ALL_PUBLICS = f"publics:{vocabulary.TOUS_PUBLICS}"


def click_counts(backend: PostgresBackend, query: SearchQuery) -> dict[str, dict[str, int]]:
    """{facet name: {value: count}} (the shape of SearchPage.facets); values with no
    result are left out unless ticked."""
    selected = filter_keys(query)
    names: dict[int, str] = {}
    sets_of: dict[SearchQuery, list[tuple[frozenset[str], int]]] = {}

    def sets(q: SearchQuery) -> list[tuple[frozenset[str], int]]:
        if q not in sets_of:
            raw = backend.key_sets(q)
            missing = {i for ids, _ in raw for i in ids} - names.keys()
            if missing:
                names.update(backend.session.execute(
                    text("SELECT id, key FROM search_key WHERE id = ANY(:ids)"), {"ids": sorted(missing)}).all())
            sets_of[q] = [(frozenset(names[i] for i in ids if i in names), n) for ids, n in raw]
        return sets_of[q]

    counts: dict[str, dict[str, int]] = {}
    ticked = _ticked(query)
    for field in KEY_FILTER_FIELDS:
        chosen = set(selected.get(field, ()))
        prefixes = tuple(p + ":" for p in FACET_NAMES[field])
        rows = sets(replace(query, **{field: ()}) if chosen else query)
        # Two tallies, over the rows the filter as it is keeps (inside) or not (outside):
        # per key, the rows that have it; for publics, the « tous publics » rows and the
        # rows that have both a public and « tous publics » (counted once).
        tally = {True: _Tally(), False: _Tally()}
        for keys, n in rows:
            tally[bool(chosen and keys & chosen)].add(keys, n, prefixes, field == "publics")
        inside, outside = tally[True], tally[False]
        candidates = set(inside.per_key) | set(outside.per_key) | chosen
        if field == "publics":
            candidates |= {f"publics:{p}" for p in vocabulary.publics()}
        if field == "thematiques" and chosen:
            # Ticking another need keeps what is found: every SPIE group counts at least that.
            candidates |= {f"thematiques_spie:{g.code}" for g in vocabulary.spie_groups()}
        for key in candidates:
            if not key.startswith(prefixes):
                continue
            if key in ticked:
                n = inside.matching(key, field)  # ticked: the current results that have it
            else:
                n = inside.total + outside.matching(key, field)  # the search with it added
            name, value = key.split(":", 1)
            if n or key in ticked:
                counts.setdefault(name, {})[value] = n
    return {name: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for name, v in counts.items()}


def _ticked(query: SearchQuery) -> set[str]:
    """The keys the person ticked (« tous publics » is added by the search, not ticked)."""
    keys = filter_keys(query)
    if query.publics:
        keys["publics"] = [f"publics:{p}" for p in query.publics]
    return {k for group in keys.values() for k in group}


class _Tally:
    def __init__(self):
        self.total = 0
        self.per_key: dict[str, int] = defaultdict(int)
        self.everyone = 0  # rows with « tous publics »
        self.both: dict[str, int] = defaultdict(int)  # rows with a public and « tous publics »

    def add(self, keys: frozenset[str], n: int, prefixes: tuple[str, ...], publics: bool) -> None:
        self.total += n
        for key in keys:
            if key.startswith(prefixes):
                self.per_key[key] += n
        if publics and ALL_PUBLICS in keys:
            self.everyone += n
            for key in keys:
                if key.startswith("publics:") and key != ALL_PUBLICS:
                    self.both[key] += n

    def matching(self, key: str, field: str) -> int:
        """Rows that a filter on this one value keeps."""
        if field == "publics" and key != ALL_PUBLICS:
            return self.per_key.get(key, 0) + self.everyone - self.both.get(key, 0)
        return self.per_key.get(key, 0)
