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

# The share of a source's records that a snapshot may archive without --force.
MAX_ARCHIVE_SHARE = 0.20
TABLES = {"structure": "structure", "service": "service"}
_LABELS = {"structure": "structures", "service": "offres"}


class ArchiveShareExceeded(ImporterError):
    """A snapshot would archive more than the allowed share of a source's records."""


def _params(seen: Iterable[tuple[str, str]]) -> dict:
    seen = list(seen)
    return {"sources": sorted({s for s, _ in seen}), "s": [k[0] for k in seen], "i": [k[1] for k in seen]}


_VANISHED = (
    "t.source = ANY(:sources) AND t.status <> 'archive' AND NOT EXISTS ("
    "SELECT 1 FROM unnest(CAST(:s AS text[]), CAST(:i AS text[])) AS k(source, id) "
    "WHERE k.source = t.source AND k.id = t.source_id)"
)


def check_archive_share(
    session: Session, kind: str, seen: Iterable[tuple[str, str]], *,
    max_share: float = MAX_ARCHIVE_SHARE, force: bool = False,
) -> tuple[int, int]:
    """(records that a snapshot having `seen` these (source, source_id) would archive,
    records of those sources not archived). Raises ArchiveShareExceeded, with a French
    message, when the first is more than `max_share` of the second and not `force`."""
    params = _params(seen)
    if not params["sources"]:
        return 0, 0
    table = TABLES[kind]
    row = session.execute(
        text(
            f"SELECT count(*) FILTER (WHERE {_VANISHED}) AS vanished, count(*) AS total "
            f"FROM {table} t WHERE t.source = ANY(:sources) AND t.status <> 'archive'"
        ),
        params,
    ).one()
    vanished, total = int(row.vanished), int(row.total)
    if not force and total and vanished > max_share * total:
        raise ArchiveShareExceeded(
            f"instantané refusé : il archiverait {vanished} {_LABELS[kind]} sur {total} "
            f"({vanished / total:.0%}, plus que les {max_share:.0%} permis) des sources "
            f"{', '.join(params['sources'])}. Rien n'a été archivé (les enregistrements lus sont "
            "importés). Si le fichier est bien complet, relancez avec --force."
        )
    return vanished, total


def archive_vanished(session: Session, kind: str, seen: Iterable[tuple[str, str]]) -> int:
    """Archive (never delete) the records of the sources in `seen` that `seen` does
    not hold; returns how many."""
    params = _params(seen)
    if not params["sources"]:
        return 0
    table = TABLES[kind]
    archived = session.execute(
        text(f"UPDATE {table} t SET status = 'archive', updated_at = now() WHERE {_VANISHED} RETURNING t.id"),
        params,
    ).all()
    return len(archived)
