"""The tallies of the filter counts (PostgresBackend.key_tallies): over the rows of a
search, split into those that have one of `inside_keys` (inside) and the others
(outside), per search key the rows that have it, and those that have it and
`marker` too; the totals likewise.

The database splits the rows into the four classes (inside or not, marked or not)
and sends, per class, the key ids of its rows as one string; numpy counts them
(`bincount`). Counting in SQL unnested every key id of the result set into a hash
aggregate: 0.5 µs each, 100 ms for a commune's whole offer (17,000 rows, 200,000
ids, nearly as many distinct key sets as rows: grouping by set saved nothing);
the ids printed and counted here cost a fraction of that (docs/performance.md)."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session


def count(session: Session, union: str, params: dict, inside_keys: list[str], marker: str) -> dict:
    """{"keys": {key: (in, out, in_with_marker, out_with_marker)}, "totals": (…)}
    over the rows of `union` (whose `facet_keys` are search_key ids)."""
    params.update(inside_keys=list(inside_keys), marker=marker)
    # (no key inside, as for the search as it is: no row is, without testing each)
    inside = ("coalesce(b.facet_keys && ARRAY(SELECT id FROM search_key WHERE key = ANY (CAST(:inside_keys AS text[]))), false)"
              if inside_keys else "false")
    rows = session.execute(text(f"""
        WITH base AS ({union}),
        c AS (
            SELECT {inside} AS inside,
                   coalesce((SELECT id FROM search_key WHERE key = :marker) = ANY (b.facet_keys), false) AS marked,
                   b.facet_keys
            FROM base b
        )
        SELECT inside, marked, count(*) AS n, string_agg(array_to_string(facet_keys, ' '), ' ')
                                            FILTER (WHERE cardinality(facet_keys) > 0) AS ids
        FROM c GROUP BY inside, marked
        UNION ALL SELECT NULL, NULL, NULL, (SELECT CAST(json_object_agg(id, key) AS text) FROM search_key)
    """), params).all()
    # the keys' names (no query of their own), then per class (inside, marked): its
    # number of rows and the rows per key id
    names = {int(i): k for r in rows if r.n is None for i, k in json.loads(r.ids or "{}").items()}
    classes = {(r.inside, r.marked): (int(r.n), _per_id(r.ids)) for r in rows if r.n is not None}
    size = max((len(c) for _, c in classes.values()), default=0)
    zero = np.zeros(size, dtype=np.int64)

    def per_id(inside: bool, marked: bool) -> np.ndarray:
        found = classes.get((inside, marked), (0, zero))[1]
        return np.pad(found, (0, size - len(found)))

    im, om = per_id(True, True), per_id(False, True)
    columns = np.stack([im + per_id(True, False), om + per_id(False, False), im, om])
    ids = np.flatnonzero(columns[0] + columns[1])
    table = columns[:, ids].T.tolist()
    keys = {names[i]: tuple(t) for i, t in zip(ids.tolist(), table, strict=True) if i in names}

    def n(inside: bool, marked: bool) -> int:
        return classes.get((inside, marked), (0, None))[0]

    marked_in, marked_out = n(True, True), n(False, True)
    return {"keys": keys, "totals": (marked_in + n(True, False), marked_out + n(False, False), marked_in, marked_out)}


def _per_id(ids: str | None) -> np.ndarray:
    """The number of times each key id occurs in `ids` (ids separated by spaces)."""
    if not ids or ids.isspace():
        return np.zeros(0, dtype=np.int64)
    # (fromstring's text mode parses in C; a Python split would cost 4 times more)
    return np.bincount(np.fromstring(ids, dtype=np.int64, sep=" "))
