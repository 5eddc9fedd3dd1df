"""The national data·inclusion API as a source: the département's offer, pulled and
kept in step (source `data-inclusion-api`).

What is pulled (the API's own list endpoints, `GET /api/v1/structures` and
`GET /api/v1/services`, paged by `page` and `size`, answering
`{items, total, page, size, pages}`, with a bearer token):
1. the structures placed in the département (`code_departement`);
2. the services placed in the département (`code_departement`);
3. the remote services of the whole country (`modes_accueil=a-distance`), of which
   those whose zone d'éligibilité covers the département are kept (the list
   endpoints filter by the service's own place only; `/search/services` filters
   by zone for one commune at a time, with a 50 km radius: no filter of the API
   says "eligible somewhere in this département");
4. the structures of the kept services placed elsewhere
   (`GET /api/v1/structures/{id}`).

A run is safe: every page is fetched first, into a spool folder (one file per
page), with retries and exponential backoff on 429 (Retry-After honoured), 5xx and
network errors (urllib3's Retry); a page that still fails stops the run before
anything is written, and the next run resumes from the pages already received
(if they are recent and the API's totals have not changed). Then the records are
loaded as one snapshot per producer (importers.load): what a producer no longer
sends for the département is archived, never deleted, after the guard of
importers.snapshot. The spool is removed once the load is done."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from geo.eligibility import departement_covering_codes
from geo.errors import UnknownCode
from importers import snapshot
from importers.errors import ImporterError
from importers.load import Loader
from importers.national_client import (
    ATTEMPTS,
    BACKOFF_FACTOR,
    DEFAULT_BASE_URL,
    Client,
    NationalApiError,
    api_root,
)
from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE
from importers.sources import datainclusion_api

SOURCE = "data-inclusion-api"
# The API accepts up to 10,000 a page (5,000 by default); smaller pages make a
# failed page cheap to fetch again.
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
# A spool older than this is fetched again from the start (the national base is
# rebuilt every day).
RESUME_MAX_AGE_HOURS = 6


# --- spool ----------------------------------------------------------------


@dataclass
class Plan:
    """What one run asks of the API."""

    root: str
    departement: str
    page_size: int = DEFAULT_PAGE_SIZE
    producers: tuple[str, ...] = ()

    def listings(self) -> dict[str, tuple[str, dict]]:
        """name → (path, query) of each paged listing."""
        sources = {"sources": list(self.producers)} if self.producers else {}
        return {
            "structures": ("/structures", {"code_departement": self.departement, **sources}),
            "services": ("/services", {"code_departement": self.departement, **sources}),
            "services-a-distance": ("/services", {"modes_accueil": "a-distance", **sources}),
        }

    def key(self) -> dict:
        return {"root": self.root, "departement": self.departement, "page_size": self.page_size,
                "producers": list(self.producers)}


def default_spool(plan: Plan) -> Path:
    digest = hashlib.sha1(json.dumps(plan.key(), sort_keys=True).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"offre-data-inclusion-api-{plan.departement}-{digest}"


class Spool:
    """Pages received, one JSON file each, and a manifest (the plan, when it was
    begun, each listing's totals). Kept until the load is done."""

    def __init__(self, folder: Path, plan: Plan, now: Callable[[], float] = time.time):
        self.folder = folder
        self.plan = plan
        self.now = now
        self.resumed = False
        folder.mkdir(parents=True, exist_ok=True)
        # One run at a time on a spool (two runs of the same plan would mix their pages).
        self._lock = open(folder / "lock", "w")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            raise NationalApiError(
                f"un autre import data-inclusion-api du même département est en cours (dossier {folder}) : "
                "attendez sa fin."
            ) from None
        manifest = self._read_manifest()
        fresh = (manifest is not None and manifest.get("plan") == plan.key()
                 and now() - manifest.get("begun", 0) < RESUME_MAX_AGE_HOURS * 3600)
        if fresh:
            self.manifest = manifest
            self.resumed = any(folder.glob("*.page.json")) or any(folder.glob("*.detail.json"))
        else:
            for old in folder.glob("*.json"):
                old.unlink()
            self.manifest = {"plan": plan.key(), "begun": now(), "listings": {}}
            self._write_manifest()

    def _read_manifest(self) -> dict | None:
        path = self.folder / "manifest.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write_manifest(self) -> None:
        _write_atomic(self.folder / "manifest.json", self.manifest)

    def page_path(self, listing: str, page: int) -> Path:
        return self.folder / f"{listing}-{page:05d}.page.json"

    def detail_path(self, structure_id: str) -> Path:
        return self.folder / f"structure-{hashlib.sha1(structure_id.encode()).hexdigest()}.detail.json"

    def set_totals(self, listing: str, total: int, pages: int) -> None:
        """A listing's totals as the first page gives them; pages received under other
        totals are dropped (the national base changed in between)."""
        if self.manifest["listings"].get(listing) != {"total": total, "pages": pages}:
            for old in self.folder.glob(f"{listing}-*.page.json"):
                old.unlink()
            self.manifest["listings"][listing] = {"total": total, "pages": pages}
            self._write_manifest()

    def release(self) -> None:
        if not self._lock.closed:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.release()


def _write_atomic(path: Path, value) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


# --- fetching -------------------------------------------------------------


@dataclass
class Fetched:
    """Everything one run loads, read back from the spool."""

    structures: list[dict] = field(default_factory=list)
    services: list[dict] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)

    def records(self) -> Iterator[RawRecord]:
        for item in self.structures:
            yield RawRecord(item, kind=STRUCTURE)
        for item in self.services:
            yield RawRecord(item, kind=SERVICE)

    @property
    def total(self) -> int:
        return len(self.structures) + len(self.services)


Progress = Callable[[str], object]


def _page(client: Client, path: str, query: dict, page: int, size: int) -> dict:
    body = client.get(path, {**query, "page": page, "size": size})
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise NationalApiError(
            f"réponse inattendue de l'API data·inclusion à {client.root}{path} (page {page}) : "
            "objet {items, total, page, size, pages} attendu"
        )
    return body


def fetch_listing(client: Client, spool: Spool, listing: str, progress: Progress) -> Iterator[dict]:
    """Every item of one paged listing, each page from the spool if it was already
    received under the same totals, else from the API (then spooled)."""
    path, query = spool.plan.listings()[listing]
    size = spool.plan.page_size
    first = _page(client, path, query, 1, size)
    total = int(first.get("total") or 0)
    pages = int(first.get("pages") or 0) if first.get("pages") is not None else -(-total // size)
    spool.set_totals(listing, total, pages)
    _write_atomic(spool.page_path(listing, 1), first["items"])
    progress(f"{listing} : page 1/{max(pages, 1)} ({total} au total)")
    yield from first["items"]
    for number in range(2, pages + 1):
        stored = spool.page_path(listing, number)
        if stored.exists():
            items = json.loads(stored.read_text(encoding="utf-8"))
            progress(f"{listing} : page {number}/{pages} (déjà reçue)")
        else:
            body = _page(client, path, query, number, size)
            if int(body.get("total") or 0) != total:
                # The base was rebuilt while we paged: offsets moved, start again.
                spool.set_totals(listing, -1, -1)
                raise NationalApiError(
                    f"la base nationale a changé pendant la lecture ({listing} : {total} puis "
                    f"{body.get('total')} enregistrements) : relancez l'import."
                )
            items = body["items"]
            _write_atomic(stored, items)
            progress(f"{listing} : page {number}/{pages}")
        yield from items


def fetch_structure(client: Client, spool: Spool, national_id: str) -> dict | None:
    """A structure by its national id (None: the API no longer has it)."""
    stored = spool.detail_path(national_id)
    if stored.exists():
        return json.loads(stored.read_text(encoding="utf-8"))
    body = client.get(f"/structures/{requests.utils.quote(national_id, safe='')}", missing_ok=True)
    if body is None:
        return None
    if not isinstance(body, dict) or "id" not in body:
        raise NationalApiError(f"réponse inattendue de l'API data·inclusion pour la structure {national_id}")
    body = {k: v for k, v in body.items() if k not in ("services", "doublons")}
    _write_atomic(stored, body)
    return body


def covers(zone: list | None, covering: frozenset[str]) -> bool:
    return bool(zone) and any(str(code) in covering for code in zone)


def fetch_all(client: Client, spool: Spool, covering: frozenset[str], progress: Progress) -> Fetched:
    """The département's offer: every page first (nothing is written to the
    catalogue here)."""
    fetched = Fetched()
    seen_structures: dict[str, dict] = {}
    seen_services: dict[str, dict] = {}
    for item in fetch_listing(client, spool, "structures", progress):
        seen_structures.setdefault(str(item.get("id")), item)
    for item in fetch_listing(client, spool, "services", progress):
        seen_services.setdefault(str(item.get("id")), item)
    kept = ignored_no_zone = 0
    for item in fetch_listing(client, spool, "services-a-distance", progress):
        if str(item.get("id")) in seen_services:
            continue
        if item.get("code_insee") and item["code_insee"] in covering:
            seen_services[str(item.get("id"))] = item  # placed here (listed since): keep it
            continue
        zone = item.get("zone_eligibilite")
        if covers(zone, covering):
            seen_services[str(item.get("id"))] = item
            kept += 1
        elif not zone:
            ignored_no_zone += 1
    missing = sorted({str(s.get("structure_id")) for s in seen_services.values()
                      if s.get("structure_id") and str(s.get("structure_id")) not in seen_structures})
    gone = 0
    for number, national_id in enumerate(missing, start=1):
        structure = fetch_structure(client, spool, national_id)
        if structure is None:
            gone += 1  # its services go to the quarantine (structure inconnue)
        else:
            seen_structures[national_id] = structure
        progress(f"structures hors du département : {number}/{len(missing)}")
    fetched.structures = list(seen_structures.values())
    fetched.services = list(seen_services.values())
    if kept:
        fetched.warnings["offres à distance d'autres départements dont la zone couvre le département (gardées)"] = kept
    if gone:
        fetched.warnings["structures d'offres introuvables dans l'API (leurs offres en quarantaine)"] = gone
    if ignored_no_zone:
        fetched.warnings[
            "offres à distance d'autres départements sans zone d'éligibilité (ignorées)"
        ] = ignored_no_zone
    return fetched


# --- the run --------------------------------------------------------------


def location_of(plan: Plan) -> str:
    text_ = f"{plan.root} — département {plan.departement}"
    if plan.producers:
        text_ += " — producteurs " + ", ".join(plan.producers)
    return text_


class NationalRun:
    """One run: `fetch` every page (nothing written to the catalogue), then `load`
    them as one snapshot per producer. An error of the API or of the guard is
    recorded as a failed run in the import history and raised."""

    def __init__(
        self, sessions: sessionmaker[Session], *, base_url: str, token: str, departement: str,
        page_size: int = DEFAULT_PAGE_SIZE, producers: tuple[str, ...] = (),
        spool_dir: Path | None = None, force_archive: bool = False, geocoder=None,
        batch_size: int = 2000, attempts: int = ATTEMPTS, backoff: float = BACKOFF_FACTOR,
    ):
        self.sessions = sessions
        self.token = token
        self.force_archive = force_archive
        self.attempts, self.backoff = attempts, backoff
        self.fetched: Fetched | None = None
        self.plan = Plan(root=(base_url or "").strip(), departement=(departement or "").strip().upper(),
                         page_size=page_size, producers=tuple(sorted(set(producers))))
        self.loader = Loader(
            sessions, SOURCE, datainclusion_api.normalise, location=location_of(self.plan),
            snapshot=True, actor=f"import:{SOURCE}",
            options={"departement": self.plan.departement, "producteurs": list(self.plan.producers)},
            geocoder=geocoder, batch_size=batch_size,
        )
        self.loader.force = force_archive
        self.loader.snapshot_channel = datainclusion_api.CHANNEL
        self.spool_dir = spool_dir
        self.spool: Spool | None = None

    def _fail(self, exc: ImporterError) -> None:
        self.loader.fail(str(exc))
        exc.run_id = self.loader.run_id

    def fetch(self, progress: Progress | None = None) -> Fetched:
        progress = progress or (lambda message: None)
        plan = self.plan
        try:
            if not plan.root:
                raise NationalApiError(
                    "adresse de l'API data·inclusion absente : renseignez le réglage "
                    f"DATA_INCLUSION_API_URL ou l'argument BASE_URL (par exemple {DEFAULT_BASE_URL})."
                )
            plan.root = api_root(plan.root)
            self.loader.location = location_of(plan)
            if not 1 <= plan.page_size <= MAX_PAGE_SIZE:
                raise NationalApiError(
                    f"taille de page invalide : {plan.page_size} (--page-size, entre 1 et {MAX_PAGE_SIZE})"
                )
            try:
                with self.sessions() as session:
                    covering = departement_covering_codes(session, plan.departement)
            except UnknownCode:
                raise NationalApiError(
                    f"département inconnu : « {plan.departement} » (--departement : un code INSEE "
                    "comme 02, 2A ou 974)"
                ) from None
            client = Client(plan.root, self.token, attempts=self.attempts, backoff=self.backoff)
            self.spool = Spool(self.spool_dir or default_spool(plan), plan)
            if self.spool.resumed:
                progress("reprise : les pages déjà reçues ne sont pas demandées à nouveau")
            fetched = fetch_all(client, self.spool, covering, progress)
            # The snapshot's guard, per producer, before anything is written (the
            # loader checks again before archiving, with the same answer).
            with self.sessions() as session:
                for kind, keys in _keys(fetched).items():
                    snapshot.check_archive_share(session, kind, keys, max_share=self.loader.max_archive_share,
                                                 force=self.force_archive, hint="--force-archive",
                                                 channel=datainclusion_api.CHANNEL)
            fetched.warnings.update(self._absent_producers(fetched))
        except ImporterError as exc:
            if self.spool is not None:
                self.spool.release()
            self._fail(exc)
            raise
        self.fetched = fetched
        return fetched

    def _absent_producers(self, fetched: Fetched) -> dict[str, int]:
        """Producers received through the national base before, absent from this run
        altogether (nothing of theirs is archived: a warning says so)."""
        present = sorted({str(r.get("source")) for r in (*fetched.structures, *fetched.services)})
        asked = list(self.plan.producers)
        warnings = {}
        with self.sessions() as session:
            for table, label in (("structure", "structures"), ("service", "offres")):
                rows = session.execute(
                    text(
                        f"SELECT source, count(*) FROM {table} WHERE raw->>'_canal' = :canal "
                        "AND status <> 'archive' AND source <> ALL(CAST(:present AS text[])) "
                        "AND (cardinality(CAST(:asked AS text[])) = 0 OR source = ANY(CAST(:asked AS text[]))) "
                        "GROUP BY source ORDER BY source"
                    ),
                    {"canal": datainclusion_api.CHANNEL, "present": present, "asked": asked},
                ).all()
                for source, count in rows:
                    warnings[f"producteur absent de ce passage, ses {label} sont gardées telles quelles : "
                             f"{source}"] = count
        return warnings

    def load(self, progress: Callable[[int], object] | None = None) -> Loader:
        assert self.fetched is not None, "fetch first"
        loader = self.loader
        if progress is not None:
            loader.progress = progress
        for warning, count in self.fetched.warnings.items():
            loader.report.warnings[warning] += count
        try:
            loader.run(self.fetched.records())
        finally:
            if self.spool is not None:
                self.spool.release()
        if self.spool is not None:
            self.spool.remove()
        return loader


def run(sessions: sessionmaker[Session], **kwargs) -> Loader:
    """fetch then load (the command `offre import run data-inclusion-api`, without
    its display)."""
    national = NationalRun(sessions, **kwargs)
    national.fetch()
    return national.load()


def _keys(fetched: Fetched) -> dict[str, set[tuple[str, str]]]:
    """The (source, source_id) keys the load will see, as the normaliser names them."""
    keys: dict[str, set[tuple[str, str]]] = {STRUCTURE: set(), SERVICE: set()}
    for record in fetched.records():
        for item in datainclusion_api.normalise(record, None):
            if item.source and item.source_id:
                keys[item.kind].add((item.source, item.source_id))
    return keys
