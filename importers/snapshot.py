"""A complete snapshot of a source archives what it no longer holds — unless that
is too much to be true. A truncated file, a paging API stopped half-way, a
workbook whose rows were hidden: each looks like a source that dropped most of its
records. `check_archive_share` stops such a snapshot before anything is archived
(the records read are loaded all the same); `--force` overrides it.

Every importer that archives (files here, a national API importer) calls
`check_archive_share` then `archive_vanished`, for each table, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from importers.errors import ImporterError

# The share of a source's records that a snapshot may archive without --force…
MAX_ARCHIVE_SHARE = 0.20
# …beyond this many: a small source losing one or two records is ordinary.
MIN_ARCHIVE_COUNT = 2
TABLES = {"structure": "structure", "service": "service"}
_LABELS = {"structure": "structures", "service": "offres"}


class ArchiveShareExceeded(ImporterError):
    """A snapshot would archive more than the allowed share of a source's records."""


def _params(seen: Iterable[tuple[str, str]], channel: str | None = None) -> dict:
    seen = list(seen)
    return {"sources": sorted({s for s, _ in seen}), "s": [k[0] for k in seen], "i": [k[1] for k in seen],
            "channel": channel}


# A snapshot speaks for its sources' records — and, when it names a channel (the
# national base's feed: raw->>'_canal'), only for those that last came through it:
# a producer's own file and the national base each archive what they brought.
_VANISHED = (
    "t.source = ANY(:sources) AND t.status <> 'archive' "
    "AND (CAST(:channel AS text) IS NULL OR t.raw->>'_canal' = :channel) AND NOT EXISTS ("
    "SELECT 1 FROM unnest(CAST(:s AS text[]), CAST(:i AS text[])) AS k(source, id) "
    "WHERE k.source = t.source AND k.id = t.source_id)"
)


def check_archive_share(
    session: Session, kind: str, seen: Iterable[tuple[str, str]], *,
    max_share: float = MAX_ARCHIVE_SHARE, force: bool = False, hint: str = "--force",
    channel: str | None = None,
) -> tuple[int, int]:
    """(records that a snapshot having `seen` these (source, source_id) would archive,
    records of those sources not archived). Raises ArchiveShareExceeded, with a French
    message naming each source concerned, when for one source (one producer of a
    multi-producer feed) the first is more than `max_share` of the second (and more
    than MIN_ARCHIVE_COUNT records), unless `force`. `hint` names the option that forces it;
    `channel`, see _VANISHED."""
    params = _params(seen, channel)
    if not params["sources"]:
        return 0, 0
    table = TABLES[kind]
    rows = session.execute(
        text(
            f"SELECT t.source, count(*) FILTER (WHERE {_VANISHED}) AS vanished, count(*) AS total "
            f"FROM {table} t WHERE t.source = ANY(:sources) AND t.status <> 'archive' "
            "AND (CAST(:channel AS text) IS NULL OR t.raw->>'_canal' = :channel) GROUP BY t.source "
            "ORDER BY t.source"
        ),
        params,
    ).all()
    too_many = [(r.source, int(r.vanished), int(r.total)) for r in rows
                if r.total and r.vanished > MIN_ARCHIVE_COUNT and r.vanished > max_share * r.total]
    if too_many and not force:
        detail = " ; ".join(f"{vanished} {_LABELS[kind]} sur {total} ({vanished / total:.0%}) de la source {source}"
                            for source, vanished, total in too_many)
        raise ArchiveShareExceeded(
            f"instantané refusé : il archiverait {detail}, plus que les {max_share:.0%} permis. "
            "Rien n'a été archivé. Si la source est bien complète, relancez avec "
            f"{hint}."
        )
    return sum(int(r.vanished) for r in rows), sum(int(r.total) for r in rows)


def archive_vanished(session: Session, kind: str, seen: Iterable[tuple[str, str]],
                     channel: str | None = None) -> int:
    """Archive (never delete) the records of the sources in `seen` (of `channel`, when
    given) that `seen` does not hold; returns how many."""
    params = _params(seen, channel)
    if not params["sources"]:
        return 0
    table = TABLES[kind]
    archived = session.execute(
        text(f"UPDATE {table} t SET status = 'archive', updated_at = now() WHERE {_VANISHED} RETURNING t.id"),
        params,
    ).all()
    return len(archived)
