"""The sources registry: source name → how to read its files and its pure
normaliser. `prepare` does the framing pass (nothing written); `execute` loads."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from importers.errors import FileFormatError, UnknownSource
from importers.load import Loader
from importers.readers import FileInfo, fetch, inspect, iter_records, sheet_names
from importers.records import Item
from importers.sources import datainclusion, datainclusion_api, dora, partner, soliguide


@dataclass(frozen=True)
class Source:
    name: str
    label: str
    normalise: Callable[..., list[Item]]
    # Sheets a workbook must hold (any of them, by folded name); None: every sheet.
    sheets: tuple[str, ...] | None = None


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("data-inclusion", "data·inclusion v1 (JSON, NDJSON, CSV, classeur du validateur)",
               datainclusion.normalise, sheets=("structures", "services")),
        Source("data-inclusion-api", "API nationale data·inclusion (offre du département, tenue à jour)",
               datainclusion_api.normalise, sheets=("structures", "services")),
        Source("dora", "DORA et data·inclusion v0 (JSON de l'API, NDJSON, CSV)",
               dora.normalise, sheets=("structures", "services")),
        Source("soliguide", "Soliguide (JSON de l'API de recherche : lieux et services)",
               soliguide.normalise),
        Source("partenaire", "Fichier d'un partenaire (CSV ou XLSX) avec sa correspondance YAML",
               partner.normalise),
    )
}


def get(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise UnknownSource(
            f"source inconnue : {name} (sources : {', '.join(SOURCES)})"
        ) from None


@dataclass
class Prepared:
    source: Source
    location: str
    files: list[FileInfo] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(f.count for f in self.files)


def _ordered(paths: list[Path]) -> list[Path]:
    """Structures before services, so that services find their structure."""
    def rank(p: Path) -> int:
        name = p.name.lower()
        return 0 if "structure" in name else 2 if "service" in name else 1
    return sorted(paths, key=lambda p: (rank(p), p.name))


def _sheets(source: Source, path: Path) -> list[str] | None:
    names = sheet_names(path)
    if source.sheets is None:
        return names
    wanted = [n for n in names if n.strip().lower() in source.sheets]
    if not wanted:
        raise FileFormatError(
            f"{path.name} : feuille « structures » ou « services » absente "
            f"(feuilles du classeur : {', '.join(names) or 'aucune'})"
        )
    return sorted(wanted, key=lambda n: 0 if "structure" in n.lower() else 1)


def prepare(name: str, location: str, workdir: Path) -> Prepared:
    """Fetch and check every file of the import (framing, encoding, sheets);
    FileFormatError before anything is written."""
    source = get(name)
    path = fetch(location, workdir)
    paths = _ordered([p for p in path.iterdir() if p.is_file()]) if path.is_dir() else [path]
    if not paths:
        raise FileFormatError(f"le dossier {location} ne contient aucun fichier")
    prepared = Prepared(source=source, location=location)
    for p in paths:
        if p.suffix.lower() in (".yaml", ".yml"):
            continue
        with open(p, "rb") as f:  # the first bytes only: the file may be large
            head = f.read(4)
        sheets = _sheets(source, p) if head.startswith(b"PK\x03\x04") else None
        prepared.files.append(inspect(p, sheets=sheets))
    return prepared


def execute(
    sessions: sessionmaker[Session], prepared: Prepared, *, snapshot: bool = False,
    options: dict | None = None, actor: str | None = None, geocoder=None,
    progress: Callable[[int], object] | None = None, batch_size: int = 2000,
) -> Loader:
    loader = Loader(
        sessions, prepared.source.name, prepared.source.normalise, location=prepared.location,
        snapshot=snapshot, actor=actor, options=options, geocoder=geocoder,
        batch_size=batch_size, progress=progress,
    )
    loader.run(itertools.chain.from_iterable(iter_records(f) for f in prepared.files))
    return loader


def run_import(
    sessions: sessionmaker[Session], name: str, location: str, workdir: Path, **kwargs
) -> Loader:
    """prepare + execute; a file-level error is recorded as a failed run and raised."""
    try:
        prepared = prepare(name, location, workdir)
    except FileFormatError as exc:
        loader = Loader(sessions, name, get(name).normalise, location=location,
                        snapshot=kwargs.get("snapshot", False), options=kwargs.get("options"))
        loader.fail(str(exc))
        exc.run_id = loader.run_id
        raise
    return execute(sessions, prepared, **kwargs)
