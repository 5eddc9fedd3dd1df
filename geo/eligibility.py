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
