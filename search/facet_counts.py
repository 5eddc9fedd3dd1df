"""Facet counts that never lie: for each value of a filter, the number of results
the person gets by ticking it — the search with that value added, under the
search's own rules (OR within one filter, AND across filters; a public also matches
« tous publics »; a SPIE group or a category matches any of its thematiques). For a
value already ticked, the number of current results that have it.

Counted in the database from the key sets of the result set
(PostgresBackend.key_tallies): one query per filter that has a selection (that filter
left out; the rows inside it are the search as it is), or one for the search as it is
when none has, whatever engine served the page — the catalogue is the truth."""

from __future__ import annotations

from dataclasses import replace
from functools import cache as once
from functools import partial

from catalogue import facet_keys, vocabulary
from search.cache import SearchCache
from search.contract import SearchQuery, Sort
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
ALL_PUBLICS = facet_keys.key("publics", vocabulary.TOUS_PUBLICS)


def click_counts(backend: PostgresBackend, query: SearchQuery,
                 shared: SearchCache | None = None) -> dict[str, dict[str, int]]:
    """{facet name: {value: count}} (the shape of SearchPage.facets); values with no
    result are left out unless ticked. The tallies are kept in `shared` when given:
    those of a search without its thematiques (a commune's whole offer, the costliest)
    serve every thematique searched there."""
    selected = filter_keys(query)
    cache: dict[tuple, dict] = {}

    def tallies(q: SearchQuery, chosen: tuple[str, ...]) -> dict:
        if (q, chosen) not in cache:
            # What the tallies do not depend on (the page, its size) left out of the key.
            common = replace(q, page=1, size=20, cursor=None, with_facets=True)
            compute = partial(backend.key_tallies, common, list(chosen), ALL_PUBLICS)
            shared_key = ("tallies", replace(common, sort=Sort.PERTINENCE), chosen)  # the order finds the same rows
            cache[(q, chosen)] = (shared.get(backend.session, shared_key, compute)
                                  if shared is not None else compute())
        return cache[(q, chosen)]

    @once
    def as_is() -> dict:
        """The tallies of the search as it is (every row outside): when a filter has
        a selection, the rows inside it of the search without it — no query of its own."""
        field = next((f for f in KEY_FILTER_FIELDS if selected.get(f)), None)
        if field is None:
            return tallies(query, ())
        found = tallies(replace(query, **{field: ()}), tuple(sorted(selected[field])))
        return {"keys": {k: (0, t[0], 0, t[2]) for k, t in found["keys"].items() if t[0]},
                "totals": (0, found["totals"][0], 0, found["totals"][2])}

    counts: dict[str, dict[str, int]] = {}
    ticked = _ticked(query)
    for field in KEY_FILTER_FIELDS:
        chosen = tuple(sorted(selected.get(field, ())))
        prefixes = tuple(p + ":" for p in FACET_NAMES[field])
        found = tallies(replace(query, **{field: ()}), chosen) if chosen else as_is()
        keys, total_in = found["keys"], found["totals"][0]
        publics = field == "publics"
        candidates = {k for k in keys if k.startswith(prefixes)} | set(chosen)
        if publics:
            candidates |= {facet_keys.key("publics", p) for p in vocabulary.publics()}
        if field == "thematiques" and chosen:
            # Ticking another need keeps what is found: every SPIE group counts at least that.
            candidates |= {facet_keys.key("thematiques_spie", g.code) for g in vocabulary.spie_groups()}
        for key in candidates:
            if not key.startswith(prefixes):
                continue
            if key in ticked:
                n = _matching(found, key, 0, publics)  # ticked: the current results that have it
            else:
                n = total_in + _matching(found, key, 1, publics)  # the search with it added
            name, value = key.split(":", 1)
            if n or key in ticked:
                counts.setdefault(name, {})[value] = n
    return {name: dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for name, v in counts.items()}


def _matching(found: dict, key: str, side: int, publics: bool) -> int:
    """Rows (inside the filter as it is: side 0; outside: side 1) that a filter on
    this one value keeps; a public's filter also keeps the « tous publics » rows, once."""
    own = found["keys"].get(key, (0, 0, 0, 0))
    if publics and key != ALL_PUBLICS:
        return own[side] + found["totals"][2 + side] - own[2 + side]
    return own[side]


def _ticked(query: SearchQuery) -> set[str]:
    """The keys the person ticked (« tous publics » is added by the search, not ticked)."""
    keys = filter_keys(query)
    if query.publics:
        keys["publics"] = [facet_keys.key("publics", p) for p in query.publics]
    return {k for group in keys.values() for k in group}
