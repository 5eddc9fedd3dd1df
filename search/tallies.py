"""The tallies of the filter counts (PostgresBackend.key_tallies): over the rows of a
search, split into those that have one of `inside_keys` (inside) and the others
(outside), per search key the rows that have it, and those that have it and
`marker` too; the totals likewise.

The database sends the three key sets of each row (search_document's
thematique_keyset, public_keyset and other_keyset, ids of search_keyset: migration
0028) as one string, 3 ids a row where printing its key ids was some 12 (40 % of the
query); numpy counts the rows per set and class (inside or not, marked or not: from
the sets that hold those keys), then per key: a key belongs to one family, so its
count is the sum over the sets of its family that hold it. The sets' keys and the
keys' names are kept here (`KeySets`): a set is written once and never changed, its
id never reused, so only the ids not seen yet are looked up. A commune's whole
offer (16,000 rows) has a few thousand sets where its whole key arrays are nearly one
per row. Counting in SQL unnested every key id into a hash aggregate: 0.5 µs each,
100 ms for 200,000 ids; splitting the classes in SQL cost a third of the query
(docs/performance.md). A row whose sets are not written yet (a set added by another
transaction at the same time: search_refresh_rows writes the row again; a service
without any key) sends its key ids, counted as they are."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

FAMILIES = ("thematique_keyset", "public_keyset", "other_keyset")
# Which database's sets the ids are (another database, or the table made again,
# numbers them anew): its oid and the table's file (TRUNCATE gives a new one).
ORIGIN_SQL = ("SELECT concat_ws(' ', (SELECT oid FROM pg_database WHERE datname = current_database()), "
              "pg_relation_filenode('search_keyset'))")


class KeySets:
    """The sets' keys (ids of search_key) of one database, as arrays: entry j of the
    sets is key `keys[j]` of set `owner[j]`. Never changed: a new one adds sets."""

    def __init__(self, origin: str, known=None, owner=None, keys=None, names=None):
        self.origin = origin
        self.known = np.zeros(0, dtype=bool) if known is None else known
        self.owner = np.zeros(0, dtype=np.int64) if owner is None else owner
        self.keys = np.zeros(0, dtype=np.int64) if keys is None else keys
        self.names: dict[int, str] = names or {}

    def with_sets(self, rows) -> KeySets:
        """These and the sets of `rows` (id, keys)."""
        ids = [int(i) for i, _ in rows]
        known = _fit(self.known, max(len(self.known), max(ids, default=-1) + 1)).copy()
        known[ids] = True  # (a copy: those who hold this one count with it)
        owner = np.concatenate([self.owner, np.repeat(np.array(ids, dtype=np.int64), [len(k) for _, k in rows])])
        keys = np.concatenate([self.keys, np.array([x for _, k in rows for x in k], dtype=np.int64)])
        return KeySets(self.origin, known, owner, keys, self.names)

    def missing(self, sets: np.ndarray) -> list[int]:
        """The ids of `sets` (rows per set id) not known here."""
        found = np.flatnonzero(sets)
        known = _fit(self.known, max(len(self.known), len(sets)))
        return found[~known[found]].tolist()

    def holding(self, key_ids: list[int], size: int) -> np.ndarray:
        """Per set id (`size` of them): whether the set holds one of `key_ids`."""
        found = np.zeros(size, dtype=bool)
        found[self.owner[np.isin(self.keys, key_ids)]] = True
        return found


_lock = threading.Lock()
_cache: KeySets | None = None


def _key_sets(session: Session, origin: str, sets: list[np.ndarray], key_ids: list[int]) -> KeySets:
    """The KeySets of this database, knowing the sets found and the names of their
    keys and of `key_ids`."""
    global _cache
    with _lock:
        cache = _cache if _cache is not None and _cache.origin == origin else KeySets(origin)
        missing = sorted({i for s in sets for i in cache.missing(s)})
        if missing:
            rows = session.execute(text("SELECT id, keys FROM search_keyset WHERE id = ANY (:ids)"),
                                   {"ids": missing}).all()
            cache = cache.with_sets(rows)
            key_ids = [*key_ids, *(x for _, k in rows for x in k)]
        if any(i not in cache.names for i in key_ids):
            cache = KeySets(origin, cache.known, cache.owner, cache.keys,
                            dict(session.execute(text("SELECT id, key FROM search_key")).all()))
        _cache = cache
        return cache


def count(session: Session, union: str, params: dict, inside_keys: list[str], marker: str) -> dict:
    """{"keys": {key: (in, out, in_with_marker, out_with_marker)}, "totals": (…)}
    over the rows of `union` (whose `facet_keys` are search_key ids and whose key
    sets are FAMILIES)."""
    complete = " AND ".join(f"b.{f} IS NOT NULL" for f in FAMILIES)
    row = session.execute(text(f"""
        WITH base AS ({union})
        SELECT string_agg(concat_ws(' ', {', '.join(f"b.{f}" for f in FAMILIES)}), ' ') FILTER (WHERE {complete}) AS sets,
               string_agg(coalesce(array_to_string(b.facet_keys, ' '), ''), ',') FILTER (WHERE NOT ({complete})) AS loose,
               ({ORIGIN_SQL}) AS origin
        FROM base b
    """), params).one()
    # each row's three sets; the key ids of each row without them
    rows = np.fromstring(row.sets, dtype=np.int64, sep=" ").reshape(-1, 3) if row.sets else np.zeros((0, 3), np.int64)
    loose = [[int(i) for i in r.split()] for r in row.loose.split(",")] if row.loose is not None else []
    cache = _key_sets(session, origin=row.origin, sets=[np.bincount(rows.ravel())] if rows.size else [],
                      key_ids=sorted({i for r in loose for i in r}))
    ids_of = {k: i for i, k in cache.names.items()}
    inside_ids, marker_ids = [ids_of[k] for k in inside_keys if k in ids_of], [ids_of[marker]] if marker in ids_of else []
    # the class of each row: 2 if inside (it has one of inside_keys), + 1 if marked
    n_sets = max(len(cache.known), int(rows.max(initial=-1)) + 1)
    classes = sum(weight * cache.holding(ids, n_sets)[rows].any(axis=1)
                  for weight, ids in ((2, inside_ids), (1, marker_ids)) if ids) + np.zeros(len(rows), np.int64)
    per_set = np.bincount((4 * rows + classes[:, None]).ravel(), minlength=4 * n_sets).reshape(-1, 4)
    size = max([len(cache.names), int(cache.keys.max(initial=-1)) + 1, *(i + 1 for r in loose for i in r)])
    per_key = np.stack([np.bincount(cache.keys, weights=per_set[cache.owner, c], minlength=size) for c in range(4)])
    per_key = per_key.astype(np.int64)
    rows_per_class = np.bincount(classes, minlength=4)
    for ids in loose:  # (rare) counted as they are, as their keys say
        c = 2 * any(i in inside_ids for i in ids) + any(i in marker_ids for i in ids)
        rows_per_class[c] += 1
        np.add.at(per_key[c], ids, 1)
    columns = np.stack([per_key[2] + per_key[3], per_key[0] + per_key[1], per_key[3], per_key[1]])
    found = np.flatnonzero(columns[0] + columns[1])
    table = columns[:, found].T.tolist()
    keys = {cache.names[i]: tuple(t) for i, t in zip(found.tolist(), table, strict=True) if i in cache.names}
    n = rows_per_class.tolist()
    return {"keys": keys, "totals": (n[2] + n[3], n[0] + n[1], n[3], n[1])}


def _fit(counts: np.ndarray, size: int) -> np.ndarray:
    """`counts` cut or completed with zeros to `size` (a copy when completed)."""
    if len(counts) >= size:
        return counts[:size]
    fitted = np.zeros(size, dtype=counts.dtype)
    fitted[: len(counts)] = counts
    return fitted
