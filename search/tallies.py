"""The tallies of the filter counts (PostgresBackend.key_tallies): over the rows of a
search, split into those that have one of `inside_keys` (inside) and the others
(outside), per search key the rows that have it, and those that have it and
`marker` too; the totals likewise.

The database splits the rows into the four classes (inside or not, marked or not)
and sends, per class, the three key sets of its rows (search_document's
thematique_keyset, public_keyset and other_keyset, ids of search_keyset: migration
0028) as one string; numpy counts the rows per set (`bincount`), then per key: a
key belongs to one family, so its count is the sum over the sets of its family that
hold it. The sets' keys and the keys' names are kept here (`KeySets`): a set is
written once and never changed, its id never reused, so only the ids not seen yet
are looked up. A commune's whole offer (16,000 rows) has a few thousand sets where
its whole key arrays are nearly one per row: the ids printed are 3 a row instead of
12 (printing each row's key ids was 40 % of the query). Counting in SQL unnested
every key id into a hash aggregate: 0.5 µs each, 100 ms for 200,000 ids
(docs/performance.md). A row whose sets are not written yet (a set added by another
transaction at the same time: search_refresh_rows writes the row again) sends its
key ids, counted as they are."""

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

    def per_key(self, sets: np.ndarray, size: int) -> np.ndarray:
        """Rows per key id, from the rows per set id."""
        weights = _fit(sets, len(self.known))[self.owner]
        return np.bincount(self.keys, weights=weights, minlength=size).astype(np.int64)


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
    params.update(inside_keys=list(inside_keys), marker=marker)
    complete = " AND ".join(f"b.{f} IS NOT NULL" for f in FAMILIES)
    rows = session.execute(text(f"""
        WITH base AS ({union}),
        c AS (
            SELECT coalesce(b.facet_keys && ARRAY(SELECT id FROM search_key
                                                  WHERE key = ANY (CAST(:inside_keys AS text[]))), false) AS inside,
                   coalesce((SELECT id FROM search_key WHERE key = :marker) = ANY (b.facet_keys), false) AS marked,
                   CASE WHEN {complete} THEN concat_ws(' ', {', '.join(f"b.{f}" for f in FAMILIES)}) END AS sets,
                   CASE WHEN NOT ({complete}) AND cardinality(b.facet_keys) > 0
                        THEN array_to_string(b.facet_keys, ' ') END AS loose
            FROM base b
        )
        SELECT inside, marked, count(*) AS n, string_agg(sets, ' ') AS sets, string_agg(loose, ' ') AS loose
        FROM c GROUP BY inside, marked
        UNION ALL SELECT NULL, NULL, NULL, ({ORIGIN_SQL}), NULL
    """), params).all()
    origin = next(r.sets for r in rows if r.n is None)
    # per class (inside, marked): its number of rows, the rows per set id, per key id
    classes = {(r.inside, r.marked): (int(r.n), _per_id(r.sets), _per_id(r.loose)) for r in rows if r.n is not None}
    loose = sorted({i for c in classes.values() for i in np.flatnonzero(c[2]).tolist()})
    cache = _key_sets(session, origin, [c[1] for c in classes.values()], loose)
    size = max([len(cache.names), int(cache.keys.max(initial=-1)) + 1, *(len(c[2]) for c in classes.values())])
    zero = np.zeros(size, dtype=np.int64)

    def per_id(inside: bool, marked: bool) -> np.ndarray:
        if (inside, marked) not in classes:
            return zero
        _, sets, own = classes[(inside, marked)]
        return cache.per_key(sets, size) + _fit(own, size)

    im, om = per_id(True, True), per_id(False, True)
    columns = np.stack([im + per_id(True, False), om + per_id(False, False), im, om])
    ids = np.flatnonzero(columns[0] + columns[1])
    table = columns[:, ids].T.tolist()
    keys = {cache.names[i]: tuple(t) for i, t in zip(ids.tolist(), table, strict=True) if i in cache.names}

    def n(inside: bool, marked: bool) -> int:
        return classes.get((inside, marked), (0, None))[0]

    marked_in, marked_out = n(True, True), n(False, True)
    return {"keys": keys, "totals": (marked_in + n(True, False), marked_out + n(False, False), marked_in, marked_out)}


def _per_id(ids: str | None) -> np.ndarray:
    """The number of times each id occurs in `ids` (ids separated by spaces)."""
    if not ids or ids.isspace():
        return np.zeros(0, dtype=np.int64)
    # (fromstring's text mode parses in C; a Python split would cost 4 times more)
    return np.bincount(np.fromstring(ids, dtype=np.int64, sep=" "))


def _fit(counts: np.ndarray, size: int) -> np.ndarray:
    """`counts` cut or completed with zeros to `size` (a copy when completed)."""
    if len(counts) >= size:
        return counts[:size]
    fitted = np.zeros(size, dtype=counts.dtype)
    fitted[: len(counts)] = counts
    return fitted
