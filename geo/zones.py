"""Zones d'éligibilité: how codes are typed, written and expanded.

Rules (documented in docs/architecture.md):
- a stored zone holds only commune codes (5 characters), département codes
  (2 or 3 characters: "02", "2A", "974"), EPCI codes (9 digits, a SIREN) or "france";
- a région is never stored: on input it is written `region:53` (or `R53`) and
  expanded to its départements, so a bare "53" is always the département Mayenne;
- "99100" (the INSEE code of France) is written "france".
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import UnknownCode, ZoneError

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


def region_departements(session: Session, region_code: str) -> list[str]:
    rows = session.scalars(
        text("SELECT code FROM geo_departement WHERE region_code = :r ORDER BY code"),
        {"r": region_code},
    ).all()
    if not rows:
        raise UnknownCode(region_code, "région")
    return list(rows)


def normalise_zone(session: Session, codes: list[str]) -> list[str]:
    """The zone as stored: régions expanded, France written "france", every code
    checked against the référentiel (UnknownCode names the first unknown one).
    Duplicates are removed; order is kept."""
    result: list[str] = []
    for raw in codes:
        code = raw.strip()
        kind = kind_of(code)
        if kind == "france":
            found = [FRANCE]
        elif kind == "region":
            found = region_departements(session, _REGION.match(code).group(1))
        else:
            table = {"commune": "geo_commune", "departement": "geo_departement", "epci": "geo_epci"}[kind]
            code = code.upper() if kind != "epci" else code
            if not session.scalar(text(f"SELECT 1 FROM {table} WHERE code = :c"), {"c": code}):
                raise UnknownCode(code, {"commune": "commune", "departement": "département", "epci": "EPCI"}[kind])
            found = [code]
        result.extend(c for c in found if c not in result)
    return result
