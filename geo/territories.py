"""Territories: named sets of communes (a SPIE cohort, a bassin d'emploi…), stored
with the union of their communes' boundaries.

A territory is built from members, each one of:
- an INSEE code of a commune (or of an arrondissement of Paris, Lyon, Marseille;
  a former commune stands for the commune it belongs to now);
- an EPCI code (9 digits): its member communes;
- a département code ("02", "2A", "974"): its communes;
- a name: a commune's name (normalised as for the lookup, restricted to one
  département if one is given), or else an EPCI's name, or a part of it that only
  one EPCI has ("GrandSoissons").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from shapely import wkb
from shapely.geometry import mapping
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo.distances import area_m2, simplify_m
from geo.errors import TerritoryError, TerritoryExists
from geo.lookup import INSEE_CODE
from geo.models import Territory
from geo.names import fold, normalise_name

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_EPCI = re.compile(r"^\d{9}$")
_DEPARTEMENT = re.compile(r"^(\d{2}|2[AB]|97\d)$", re.IGNORECASE)
# Tolerance of the boundary simplified for display, in metres (Lambert-93): a
# whole département stays well under 200 KB, and 100 m is invisible at the zoom
# that shows it.
DISPLAY_TOLERANCE_M = 100.0
# Decimals of the GeoJSON coordinates: 5 decimals is about 1 m.
GEOJSON_DECIMALS = 5

# The three cohorts of the SPIE experiment of the Aisne (guide of the
# "territoires expérimentateurs de suivi de cohortes"), each made of the
# communautés d'agglomération of its towns.
AISNE_SPIE_COHORTS = (
    ("laon", "Laon", ("200043495",)),  # CA du Pays de Laon
    (
        "soissons-chateau-thierry",
        "Soissons / Château-Thierry",
        ("240200477", "200072031"),  # GrandSoissons Agglomération, CA de la Région de Château-Thierry
    ),
    ("la-fere-chauny-tergnier", "La Fère / Chauny / Tergnier", ("200071785",)),  # CA Chauny-Tergnier-La Fère
)


@dataclass(frozen=True)
class TerritorySummary:
    slug: str
    nom: str
    nombre_communes: int
    population: int
    area_km2: float | None


def slugify(nom: str) -> str:
    """"Soissons / Château-Thierry" -> "soissons-chateau-thierry"."""
    return fold(nom).replace(" ", "-")[:100].strip("-")


def _one_commune_by_name(session: Session, name: str, departement: str | None) -> list[tuple[str, str]]:
    return session.execute(
        text(
            "SELECT code, nom || ' (' || coalesce(departement_code, '?') || ')' FROM geo_commune "
            "WHERE nom_recherche = :n AND type IN ('COM', 'ARM') "
            "AND (CAST(:d AS text) IS NULL OR departement_code = :d) "
            "ORDER BY population DESC NULLS LAST, code"
        ),
        {"n": normalise_name(name), "d": departement},
    ).all()


def _epci_by_name(session: Session, name: str) -> list[tuple[str, str]]:
    wanted = normalise_name(name)
    rows = session.execute(text("SELECT code, nom FROM geo_epci ORDER BY code")).all()
    exact = [r for r in rows if normalise_name(r.nom) == wanted]
    if exact:
        return exact
    padded = f" {wanted} "
    return [r for r in rows if padded in f" {normalise_name(r.nom)} "]


def _communes_of_epci(session: Session, code: str) -> list[str]:
    if not session.scalar(text("SELECT 1 FROM geo_epci WHERE code = :c"), {"c": code}):
        raise TerritoryError(f"membres : EPCI inconnu « {code} »")
    return list(
        session.scalars(
            text("SELECT code FROM geo_commune WHERE epci_code = :c AND type = 'COM' ORDER BY code"),
            {"c": code},
        )
    )


def resolve_members(
    session: Session, members: Iterable[str], *, departement: str | None = None
) -> list[str]:
    """The sorted commune codes that `members` stand for (see the module
    docstring). TerritoryError names the first member that is unknown or
    ambiguous, and why."""
    departement = departement.upper() if departement else None
    codes: set[str] = set()
    seen_any = False
    for raw in members:
        member = (raw or "").strip()
        if not member:
            continue
        seen_any = True
        if INSEE_CODE.match(member):
            row = session.execute(
                text("SELECT code, type, parent_code FROM geo_commune WHERE code = :c"),
                {"c": member.upper()},
            ).first()
            if row is None:
                raise TerritoryError(f"membres : commune inconnue « {member} » (code INSEE)")
            codes.add(row.parent_code if row.type in ("COMD", "COMA") and row.parent_code else row.code)
        elif _EPCI.match(member):
            codes.update(_communes_of_epci(session, member))
        elif _DEPARTEMENT.match(member):
            found = session.scalars(
                text("SELECT code FROM geo_commune WHERE departement_code = :d AND type = 'COM'"),
                {"d": member.upper()},
            ).all()
            if not found:
                raise TerritoryError(f"membres : département inconnu « {member} »")
            codes.update(found)
        else:
            if not normalise_name(member):
                raise TerritoryError(f"membres : « {member} » n'est ni un code ni un nom")
            communes = _one_commune_by_name(session, member, departement)
            if len(communes) == 1:
                codes.add(communes[0][0])
                continue
            if len(communes) > 1:
                listed = ", ".join(f"{code} {label}" for code, label in communes[:6])
                raise TerritoryError(
                    f"membres : plusieurs communes s'appellent « {member} » ({listed}) ; "
                    "donnez son code INSEE ou le département"
                )
            epcis = _epci_by_name(session, member)
            if len(epcis) == 1:
                codes.update(_communes_of_epci(session, epcis[0][0]))
                continue
            if len(epcis) > 1:
                listed = ", ".join(f"{code} {nom}" for code, nom in epcis[:6])
                raise TerritoryError(
                    f"membres : plusieurs EPCI correspondent à « {member} » ({listed}) ; donnez son code"
                )
            where = f" dans le département {departement}" if departement else ""
            raise TerritoryError(f"membres : aucune commune ni aucun EPCI ne s'appelle « {member} »{where}")
    if not seen_any:
        raise TerritoryError("membres : donnez au moins une commune, un EPCI ou un département")
    return sorted(codes)


def save_territory(
    session: Session,
    nom: str,
    members: Iterable[str],
    *,
    slug: str | None = None,
    departement: str | None = None,
    replace: bool = False,
) -> Territory:
    """Create the territory (or, with `replace`, redefine the one of that slug)
    from its members, with the union of its communes' boundaries."""
    nom = (nom or "").strip()
    if not nom:
        raise TerritoryError("nom : obligatoire")
    slug = (slug or slugify(nom)).strip()
    if not SLUG.match(slug):
        raise TerritoryError(
            f"identifiant : « {slug} » invalide (lettres minuscules sans accent, chiffres et tirets, "
            "100 caractères au plus)"
        )
    communes = resolve_members(session, members, departement=departement)
    territory = session.scalars(select(Territory).where(Territory.slug == slug)).first()
    if territory is not None and not replace:
        raise TerritoryExists(f"identifiant : le territoire « {slug} » existe déjà")
    if territory is None:
        territory = Territory(slug=slug)
        session.add(territory)
    territory.nom = nom
    territory.communes = communes
    session.flush()
    session.execute(
        text(
            """
            UPDATE geo_territory SET contour = (
                SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(c.contour)), 3))
                FROM geo_commune c WHERE c.code = ANY(CAST(:codes AS text[])) AND c.contour IS NOT NULL)
            WHERE id = :id
            """
        ),
        {"codes": communes, "id": territory.id},
    )
    session.expire(territory, ["contour"])
    return territory


def create_aisne_cohorts(session: Session, *, replace: bool = True) -> list[Territory]:
    """The three cohort territories of the Aisne SPIE, created or brought up to
    date; with `replace=False`, those that exist already are left as they are."""
    made = []
    for slug, nom, epcis in AISNE_SPIE_COHORTS:
        existing = get_territory(session, slug)
        if existing is not None and not replace:
            made.append(existing)
            continue
        made.append(save_territory(session, nom, epcis, slug=slug, replace=True))
    return made


def list_territories(session: Session) -> list[TerritorySummary]:
    rows = session.execute(
        text(
            """
            SELECT t.slug, t.nom, coalesce(cardinality(t.communes), 0) AS n,
                   (SELECT coalesce(sum(c.population), 0) FROM geo_commune c
                    WHERE c.code = ANY(t.communes)) AS population,
                   ST_AsBinary(t.contour) AS contour
            FROM geo_territory t ORDER BY t.nom, t.slug
            """
        )
    ).all()
    return [
        TerritorySummary(
            slug=r.slug, nom=r.nom, nombre_communes=r.n, population=int(r.population),
            area_km2=round(area_m2(wkb.loads(bytes(r.contour))) / 1e6, 1) if r.contour else None,
        )
        for r in rows
    ]


def territory_names(session: Session) -> list[tuple[str, str]]:
    """(slug, nom) of every territory, by name (what a form's list offers)."""
    return [tuple(r) for r in session.execute(text("SELECT slug, nom FROM geo_territory ORDER BY nom, slug"))]


def territory_name(session: Session, slug: str) -> str | None:
    return session.scalar(text("SELECT nom FROM geo_territory WHERE slug = :s"), {"s": slug})


def territory_members(session: Session) -> list[tuple[str, str, list[str]]]:
    """(slug, nom, commune codes) of every territory, by name."""
    return [(r.slug, r.nom, list(r.communes or []))
            for r in session.execute(text("SELECT slug, nom, communes FROM geo_territory ORDER BY nom, slug"))]


def territory_counts(session: Session) -> list:
    """(slug, nom, n: its number of communes) of every territory, by name."""
    return session.execute(
        text("SELECT slug, nom, coalesce(cardinality(communes), 0) AS n FROM geo_territory ORDER BY nom, slug")
    ).all()


def get_territory(session: Session, slug: str) -> Territory | None:
    return session.scalars(select(Territory).where(Territory.slug == slug)).first()


def territory_communes(session: Session, slug: str) -> list[tuple[str, str]]:
    """(code, name) of the territory's communes, by name."""
    return [
        (r.code, r.nom)
        for r in session.execute(
            text(
                "SELECT c.code, c.nom FROM geo_territory t JOIN geo_commune c ON c.code = ANY(t.communes) "
                "WHERE t.slug = :s ORDER BY c.nom_recherche, c.code"
            ),
            {"s": slug},
        )
    ]


def _rounded(value, decimals: int):
    if isinstance(value, float):
        return round(value, decimals)
    if isinstance(value, list | tuple):
        return [_rounded(v, decimals) for v in value]
    return value


def territory_geojson(
    session: Session, slug: str, tolerance_m: float = DISPLAY_TOLERANCE_M
) -> dict | None:
    """The territory's boundary as a GeoJSON geometry (EPSG:4326), simplified in
    Lambert-93 with `tolerance_m` metres and rounded to 5 decimals, for display;
    None for an unknown territory or one without a boundary."""
    # A territory written without its boundary (by hand, in SQL) gets its union here.
    raw = session.scalar(
        text(
            """
            SELECT ST_AsBinary(coalesce(t.contour, (
                SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(c.contour)), 3))
                FROM geo_commune c WHERE c.code = ANY(t.communes))))
            FROM geo_territory t WHERE t.slug = :s
            """
        ),
        {"s": slug},
    )
    if raw is None:
        return None
    return display_geojson(wkb.loads(bytes(raw)), tolerance_m)


def display_geojson(geom, tolerance_m: float = DISPLAY_TOLERANCE_M) -> dict:
    """A boundary (shapely, EPSG:4326) as a GeoJSON geometry for a map: simplified in
    Lambert-93 with a tolerance in metres, coordinates rounded to 5 decimals."""
    geometry = mapping(simplify_m(geom, tolerance_m))
    return {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"], GEOJSON_DECIMALS)}


def geojson_size(geometry: dict) -> int:
    """Bytes of the compact JSON of a geometry (what a page or the API sends)."""
    return len(json.dumps(geometry, separators=(",", ":")).encode())


def basemap_geojson(session: Session, departement_code: str, tolerance_m: float = 250.0) -> dict | None:
    """A light base layer for maps that have no tiles (offline, a tile server down):
    the département's outline and the outlines of its EPCIs (their communes inside
    the département), as a GeoJSON FeatureCollection simplified for display
    (`kind`: "departement" or "epci", `nom`). None for an unknown département."""
    rows = session.execute(
        text(
            """
            SELECT 'departement' AS kind, d.nom, ST_AsBinary(ST_Union(c.contour)) AS shape
            FROM geo_commune c JOIN geo_departement d ON d.code = c.departement_code
            WHERE c.departement_code = :d AND c.type = 'COM' AND c.contour IS NOT NULL
            GROUP BY d.nom
            UNION ALL
            SELECT 'epci', coalesce(e.nom, c.epci_code), ST_AsBinary(ST_Union(c.contour))
            FROM geo_commune c LEFT JOIN geo_epci e ON e.code = c.epci_code
            WHERE c.departement_code = :d AND c.type = 'COM' AND c.contour IS NOT NULL
              AND c.epci_code IS NOT NULL
            GROUP BY c.epci_code, e.nom
            """
        ),
        {"d": (departement_code or "").upper()},
    ).all()
    if not rows:
        return None
    features = [
        {"type": "Feature", "properties": {"kind": r.kind, "nom": r.nom},
         "geometry": display_geojson(wkb.loads(bytes(r.shape)), tolerance_m)}
        for r in rows if r.shape is not None
    ]
    return {"type": "FeatureCollection", "features": features}
