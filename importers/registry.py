"""The sources registry: source name → how to read its files and its pure
normaliser. `prepare` does the framing pass (nothing written); `execute` loads."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from importers import snapshot
from importers.errors import FileFormatError, UnknownSource
from importers.load import Loader
from importers.readers import FileInfo, fetch, inspect, iter_records
from importers.records import SERVICE, STRUCTURE, Item
from importers.sources import datainclusion, datainclusion_api, dora, partner, soliguide
from importers.workbooks import sheet_names


@dataclass(frozen=True)
class Source:
    name: str
    label: str
    normalise: Callable[..., list[Item]]
    # Sheets a workbook must hold (any of them, by folded name); None: every sheet.
    sheets: tuple[str, ...] | None = None
    # The columns a table of this source may have, by kind (None: not checked): any
    # other column is ignored, with one warning.
    columns: dict[str | None, frozenset[str]] | None = None
    # The national template: a table without `source` takes the producer's name
    # given on the command line (--source), and a record without `date_maj` the
    # file's date.
    producer_defaults: bool = False


def _v1_columns() -> dict[str | None, frozenset[str]]:
    from data_inclusion.schema import v1

    structure, service = frozenset(v1.Structure.model_fields), frozenset(v1.Service.model_fields)
    return {STRUCTURE: structure, SERVICE: service, None: structure | service}


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("data-inclusion", "data·inclusion v1 (JSON, NDJSON, CSV, modèle national du valideur)",
               datainclusion.normalise, sheets=("structures", "services"), columns=_v1_columns(),
               producer_defaults=True),
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
    # Said once in the run's report (a column ignored, a default applied).
    warnings: list[str] = field(default_factory=list)
    # The run's options, with the defaults found in the files (the file's date).
    options: dict = field(default_factory=dict)
    # Record sources that are a partner's own file (not a copy of another base).
    own_sources: set[str] = field(default_factory=set)

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


def prepare(name: str, location: str, workdir: Path, options: dict | None = None) -> Prepared:
    """Fetch and check every file of the import (framing, encoding, sheets, the
    columns of tables); FileFormatError before anything is written. `options` are
    the run's (the partner's mapping, --source): the returned ones add the defaults
    found in the files."""
    source = get(name)
    path = fetch(location, workdir)
    paths = _ordered([p for p in path.iterdir() if p.is_file()]) if path.is_dir() else [path]
    if not paths:
        raise FileFormatError(f"le dossier {location} ne contient aucun fichier")
    prepared = Prepared(source=source, location=location, options=dict(options or {}))
    for p in paths:
        if p.suffix.lower() in (".yaml", ".yml"):
            continue
        with open(p, "rb") as f:  # the first bytes only: the file may be large
            head = f.read(4)
        sheets = _sheets(source, p) if head.startswith(b"PK\x03\x04") else None
        prepared.files.append(inspect(p, sheets=sheets))
    _check_columns(prepared)
    return prepared


def _check_columns(prepared: Prepared) -> None:
    """Columns of tables: each unknown one said once; a title given twice said once;
    the national template's missing `source` (then --source is required) and
    `date_maj` (then the file's date)."""
    source, options = prepared.source, prepared.options
    for info in prepared.files:
        for sheet, header in info.headers.items():
            where = f"{info.path.name}" + (f", feuille « {sheet} »" if sheet else "")
            if source.columns is not None:
                kind = _kind_of_sheet(sheet) or info.kind
                known = source.columns.get(kind, source.columns[None])
                for column in header:
                    if column not in known:
                        prepared.warnings.append(f"{where} : colonne inconnue ignorée « {column} »")
            for column in info.duplicated.get(sheet, []):
                prepared.warnings.append(
                    f"{where} : colonne « {column} » en double (la première cellule remplie est lue)")
            if not source.producer_defaults:
                continue
            if "source" not in header:
                if not options.get(datainclusion.DEFAULT_SOURCE):
                    raise FileFormatError(
                        f"{where} : pas de colonne « source » (le modèle national n'en a pas : le "
                        "producteur est la source) — indiquez le nom du producteur avec --source NOM "
                        "(ex. --source mission-locale-laon)"
                    )
                # The producer's own table: its records are its own, not a copy.
                prepared.own_sources.add(options[datainclusion.DEFAULT_SOURCE])
    if source.producer_defaults and not options.get(datainclusion.DEFAULT_DATE):
        # Tables only (the template): a JSON export without date_maj is refused as it is.
        dates = [info.modified for info in prepared.files if info.headers and info.modified is not None]
        if dates:
            options[datainclusion.DEFAULT_DATE] = max(dates).isoformat()


def _kind_of_sheet(sheet: str) -> str | None:
    name = sheet.strip().lower()
    return STRUCTURE if "structure" in name else SERVICE if "service" in name else None


def execute(
    sessions: sessionmaker[Session], prepared: Prepared, *, snapshot: bool = False,
    options: dict | None = None, actor: str | None = None, geocoder=None,
    progress: Callable[[int], object] | None = None, batch_size: int = 2000,
    force: bool = False, max_archive_share: float = snapshot.MAX_ARCHIVE_SHARE,
) -> Loader:
    options = {**prepared.options, **(options or {})}
    own = set(prepared.own_sources)
    if prepared.source.name == "partenaire" and options.get("mapping"):  # a partner's own file
        own.add(options["mapping"]["source"])
    loader = Loader(
        sessions, prepared.source.name, prepared.source.normalise, location=prepared.location,
        snapshot=snapshot, actor=actor, options=options, geocoder=geocoder,
        batch_size=batch_size, progress=progress, notes=prepared.warnings,
        force=force, max_archive_share=max_archive_share, own_sources=own,
    )
    loader.run(itertools.chain.from_iterable(iter_records(f) for f in prepared.files))
    return loader


def run_import(
    sessions: sessionmaker[Session], name: str, location: str, workdir: Path, **kwargs
) -> Loader:
    """prepare + execute; a file-level error is recorded as a failed run and raised."""
    try:
        prepared = prepare(name, location, workdir, kwargs.get("options"))
    except FileFormatError as exc:
        loader = Loader(sessions, name, get(name).normalise, location=location,
                        snapshot=kwargs.get("snapshot", False), options=kwargs.get("options"))
        loader.fail(str(exc))
        exc.run_id = loader.run_id
        raise
    return execute(sessions, prepared, **kwargs)
