"""The guard against archiving a large share of a producer's records at once.

A snapshot archives what it no longer holds. A snapshot that is much smaller than
the catalogue's records of its producers is more likely a broken feed (a producer
missing upstream for a day, a filter changed) than so many offers closed the same
day: the run is refused before it writes anything, unless the operator says it is
expected."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from importers.errors import ImporterError
from importers.records import SERVICE, STRUCTURE

# Refused when more than this share of a producer's live records would be archived…
MAX_ARCHIVE_SHARE = 0.2
# …and more than this many (a small producer losing 2 of its 5 offers is ordinary).
MIN_ARCHIVE_COUNT = 10
_TABLES = {STRUCTURE: "structure", SERVICE: "service"}
_LABELS = {STRUCTURE: "structures", SERVICE: "offres"}


class MassArchiveRefused(ImporterError):
    """The snapshot would archive too large a share of some producer's records."""


@dataclass(frozen=True)
class ArchiveShare:
    kind: str
    source: str
    live: int  # records of the producer not archived
    vanished: int  # of which the snapshot no longer holds

    @property
    def share(self) -> float:
        return self.vanished / self.live if self.live else 0.0

    @property
    def too_large(self) -> bool:
        return self.vanished > MIN_ARCHIVE_COUNT and self.share > MAX_ARCHIVE_SHARE


def archive_shares(session: Session, seen: dict[str, Iterable[tuple[str, str]]]) -> list[ArchiveShare]:
    """For each kind and producer of the snapshot (`seen`: kind → (source, source_id)
    keys), how many of the catalogue's live records it would archive."""
    shares = []
    for kind, keys in seen.items():
        keys = list(keys)
        sources = sorted({s for s, _ in keys})
        if not sources:
            continue
        rows = session.execute(
            text(
                f"SELECT t.source, count(*) AS live, count(*) FILTER (WHERE k.id IS NULL) AS vanished "
                f"FROM {_TABLES[kind]} t LEFT JOIN unnest(CAST(:s AS text[]), CAST(:i AS text[])) "
                "AS k(source, id) ON k.source = t.source AND k.id = t.source_id "
                "WHERE t.source = ANY(:sources) AND t.status <> 'archive' GROUP BY t.source ORDER BY t.source"
            ),
            {"sources": sources, "s": [k[0] for k in keys], "i": [k[1] for k in keys]},
        ).all()
        shares.extend(ArchiveShare(kind, r.source, r.live, r.vanished) for r in rows)
    return shares


def check_archive_share(session: Session, seen: dict[str, Iterable[tuple[str, str]]]) -> list[ArchiveShare]:
    """Raise MassArchiveRefused (French message naming each producer) when the
    snapshot would archive more than MAX_ARCHIVE_SHARE of a producer's live records
    (and more than MIN_ARCHIVE_COUNT of them); else return the shares."""
    shares = archive_shares(session, seen)
    refused = [s for s in shares if s.too_large]
    if refused:
        details = "; ".join(
            f"{s.vanished} {_LABELS[s.kind]} sur {s.live} du producteur {s.source} ({s.share:.0%})"
            for s in refused
        )
        raise MassArchiveRefused(
            f"archivage refusé : la source ne contient plus {details}, au-delà du seuil de "
            f"{MAX_ARCHIVE_SHARE:.0%}. Rien n'a été écrit. Si ces disparitions sont attendues, "
            "relancez avec --force-archive."
        )
    return shares
