"""Eligibility expansion: the one function search uses.

A service whose zone holds any of `covering_codes(C)` (or whose zone is empty) is
eligible for a person of commune C (the national semantics of data·inclusion)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.errors import UnknownCode
from geo.zones import FRANCE


def covering_codes(session: Session, code_commune: str) -> list[str]:
    """Codes a zone may hold to cover the commune: the commune itself (and, for a
    municipal arrondissement of Paris, Lyon or Marseille, its commune), its EPCI,
    its département, and "france". Raises UnknownCode for an unknown commune."""
    row = session.execute(
        text(
            """
            SELECT c.code, c.parent_code, c.epci_code, c.departement_code
            FROM geo_commune c WHERE c.code = :code
            """
        ),
        {"code": code_commune},
    ).first()
    if row is None:
        raise UnknownCode(code_commune, "commune")
    return covering_of(row.code, row.parent_code, row.epci_code, row.departement_code)


def covering_of(code: str, parent_code: str | None, epci_code: str | None, departement_code: str | None) -> list[str]:
    """covering_codes from the commune's row (code, parent, EPCI, département)."""
    return [code, *(c for c in (parent_code, epci_code, departement_code) if c), FRANCE]


def departement_covering_codes(session: Session, departement_code: str) -> frozenset[str]:
    """Codes a zone may hold to cover at least part of the département, so that some
    of its people are eligible: the département, each of its communes (and the commune
    of each of its municipal arrondissements), each EPCI with a commune in it, and
    "france" (also written "99100"). Raises UnknownCode for an unknown département."""
    known = session.scalar(
        text("SELECT 1 FROM geo_departement WHERE code = :d"), {"d": departement_code}
    )
    if known is None:
        raise UnknownCode(departement_code, "département")
    codes = {departement_code, FRANCE, "99100"}
    for row in session.execute(
        text("SELECT code, parent_code, epci_code FROM geo_commune WHERE departement_code = :d"),
        {"d": departement_code},
    ):
        codes.update(c for c in row if c)
    return frozenset(codes)
