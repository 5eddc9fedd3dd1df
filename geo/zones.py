"""Zones d'éligibilité: how codes are typed, written and expanded.

Rules (documented in docs/architecture.md):
- a stored zone holds only commune codes (5 characters), département codes
  (2 or 3 characters: "02", "2A", "974"), EPCI codes (9 digits, a SIREN) or "france";
- a région is never stored: on input it is written `region:53` (or `R53`) and
  expanded to its départements, so a bare "53" is always the département Mayenne;
- "99100" (the INSEE code of France) is written "france".

The rules are written once (`expand`), over the codes that exist: asked of the
database one at a time (`normalise_zone`, a form) or held in memory for a whole
import (`KnownCodes`, importers.load).
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Protocol

from shapely import wkb
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo.errors import UnknownCode, ZoneError
from geo.models import Commune, Departement, Epci
from geo.names import with_de
from geo.territories import display_geojson

FRANCE = "france"
_COMMUNE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_DEPARTEMENT = re.compile(r"^(\d{2}|2[AB]|97\d)$")
_EPCI = re.compile(r"^\d{9}$")
_REGION = re.compile(r"^(?:region:|R)(\d{2})$", re.IGNORECASE)


def kind_of(code: str) -> str:
    """'france', 'commune', 'departement', 'epci' or 'region' (input only);
    raises ZoneError for a code of no known shape."""
    code = code.strip()
    if code.lower() in (FRANCE, "99100"):
        return "france"
    if _REGION.match(code):
        return "region"
    if _EPCI.match(code):
        return "epci"
    if _COMMUNE.match(code.upper()):  # "2a004" is Ajaccio as much as "2A004"
        return "commune"
    if _DEPARTEMENT.match(code.upper()):
        return "departement"
    raise ZoneError(
        f"code de zone non reconnu : {code!r} (attendu : commune, EPCI, département, "
        "« region:NN » ou « france »)"
    )


_KIND_WORDS = {"commune": "commune", "departement": "département", "epci": "EPCI"}


class ZoneCodes(Protocol):
    """The codes that exist, as `expand` asks for them."""

    def region_departements(self, region_code: str) -> list[str]:
        """The région's départements; raises UnknownCode for an unknown région."""

    def exists(self, kind: str, code: str) -> bool:
        """Whether a commune, département or EPCI code exists."""


def expand(codes: list[str], known: ZoneCodes) -> list[str]:
    """The zone as stored: régions expanded, France written "france", every code
    checked against `known` (UnknownCode names the first unknown one).
    Duplicates are removed; order is kept."""
    result: list[str] = []
    for raw in codes:
        code = raw.strip()
        kind = kind_of(code)
        if kind == "france":
            found = [FRANCE]
        elif kind == "region":
            found = known.region_departements(_REGION.match(code).group(1))
        else:
            code = code.upper() if kind != "epci" else code
            if not known.exists(kind, code):
                raise UnknownCode(code, _KIND_WORDS[kind])
            found = [code]
        result.extend(c for c in found if c not in result)
    return result


class _Database:
    """The codes asked of the référentiel's tables, one query each."""

    _TABLES = {"commune": "geo_commune", "departement": "geo_departement", "epci": "geo_epci"}

    def __init__(self, session: Session):
        self.session = session

    def region_departements(self, region_code: str) -> list[str]:
        return region_departements(self.session, region_code)

    def exists(self, kind: str, code: str) -> bool:
        return bool(self.session.scalar(text(f"SELECT 1 FROM {self._TABLES[kind]} WHERE code = :c"), {"c": code}))


@dataclass
class KnownCodes:
    """The codes held in memory (an import checks 100,000 zones: one query each would
    be the bottleneck). `regions`: région code -> its départements."""

    communes: Container[str]
    departements: Container[str]
    epcis: Container[str]
    regions: dict[str, list[str]]

    @classmethod
    def load(cls, session: Session, communes: Container[str]) -> KnownCodes:
        regions: dict[str, list[str]] = {}
        for code, region in session.execute(text("SELECT code, region_code FROM geo_departement ORDER BY code")):
            regions.setdefault(region, []).append(code)
        return cls(communes, set(session.scalars(text("SELECT code FROM geo_departement"))),
                   set(session.scalars(text("SELECT code FROM geo_epci"))), regions)

    def region_departements(self, region_code: str) -> list[str]:
        if region_code not in self.regions:
            raise UnknownCode(region_code, "région")
        return self.regions[region_code]

    def exists(self, kind: str, code: str) -> bool:
        return code in {"commune": self.communes, "departement": self.departements, "epci": self.epcis}[kind]


def region_departements(session: Session, region_code: str) -> list[str]:
    rows = session.scalars(
        text("SELECT code FROM geo_departement WHERE region_code = :r ORDER BY code"),
        {"r": region_code},
    ).all()
    if not rows:
        raise UnknownCode(region_code, "région")
    return list(rows)


def normalise_zone(session: Session, codes: list[str]) -> list[str]:
    """The zone as stored (`expand`), each code asked of the database."""
    return expand(codes, _Database(session))


# ------------------------------------------------------------------- zones shown

def zone_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Code -> name in words with its preposition, for zone codes of any kind
    ("02408" → "de Laon", "200043495" → "de la CA du Pays de Laon",
    "02" → "du département : Aisne (02)")."""
    names: dict[str, str] = {}
    communes = [c for c in codes if len(c) == 5]
    epcis = [c for c in codes if len(c) == 9]
    deps = [c for c in codes if len(c) in (2, 3)]
    if communes:
        for code, nom in session.execute(select(Commune.code, Commune.nom).where(Commune.code.in_(communes))):
            names[code] = with_de(nom)
    if epcis:
        for code, nom in session.execute(select(Epci.code, Epci.nom).where(Epci.code.in_(epcis))):
            names[code] = "de " + _epci_words(nom)
    if deps:
        for code, nom in session.execute(
            select(Departement.code, Departement.nom).where(Departement.code.in_(deps))
        ):
            names[code] = f"du département : {nom} ({code})"
    return names


_EPCI_KINDS = ("Communauté d'agglomération", "Communauté de communes", "Communauté urbaine", "Métropole")


def _epci_words(nom: str) -> str:
    """An EPCI's name spelled out, with its article, for the public: « la
    communauté d'agglomération du Pays de Laon » (never « la CA du … »)."""
    for kind in _EPCI_KINDS:
        if nom.startswith(kind):
            return "la " + (kind if kind == "Métropole" else kind[0].lower() + kind[1:]) + nom[len(kind):]
    return nom


def eligibility_words(zone: list[str], names: dict[str, str]) -> str:
    """"Éligible : habitants de la CA du Pays de Laon" (zone codes in words)."""
    if not zone:
        return "Éligible : tout le monde, sans condition de lieu"
    if "france" in zone:
        return "Éligible : habitants de toute la France"
    words = [names.get(code, f"de la zone {code}") for code in zone]
    if len(words) > 1:
        listed = ", ".join(words[:-1]) + " et " + words[-1]
    else:
        listed = words[0]
    return f"Éligible : habitants {listed}"


# Simplification of a zone's shape for display, in metres (Lambert-93, geo.distances).
_SHAPE_TOLERANCE_M = {"commune": 50.0, "epci": 200.0, "departement": 300.0}
_SHAPE_OF = {"commune": Commune.code, "epci": Commune.epci_code, "departement": Commune.departement_code}


def zone_geojson(session: Session, code: str) -> dict | None:
    """The boundary of a zone code (commune, EPCI or département) as a GeoJSON
    geometry, simplified in Lambert-93 (geo.distances) and rounded to 5 decimals;
    None for "france", a région or an unknown code."""
    try:
        kind = kind_of(code)
    except ZoneError:
        return None
    if kind not in _SHAPE_OF:
        return None
    column = _SHAPE_OF[kind]
    raw = session.scalar(
        select(func.ST_AsBinary(func.ST_Union(Commune.contour))).where(
            Commune.type == "COM", column == (code if kind == "epci" else code.upper())
        )
    )
    if raw is None:
        return None
    return display_geojson(wkb.loads(bytes(raw)), _SHAPE_TOLERANCE_M[kind])
