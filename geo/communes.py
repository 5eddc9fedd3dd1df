"""Communes as a person types them on the public pages: by name, postal code or
INSEE code (geo.lookup's rules), and read back from what the field holds
(« Laon (02000) »)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import any_, select
from sqlalchemy.orm import Session

from geo import lookup
from geo.models import Commune
from geo.names import normalise_name


@dataclass(frozen=True)
class CommuneChoice:
    code: str
    nom: str
    departement_code: str | None
    codes_postaux: tuple[str, ...]
    matched: str = "nom"  # geo.lookup: "nom", "code_postal", "code_commune"
    matched_code: str | None = None

    @property
    def label(self) -> str:
        """What goes back into the field: the name and a postal code (the one typed,
        else the first), which `resolve_commune` reads back to this commune."""
        typed = self.matched_code if self.matched == "code_postal" else None
        cp = typed or (self.codes_postaux[0] if self.codes_postaux else self.departement_code)
        return f"{self.nom} ({cp})"

    @property
    def detail(self) -> str:
        """What the list of proposals shows: « Bony — code commune 02100 »."""
        if self.matched == "code_commune":
            return f"{self.nom} — code commune {self.code}"
        if self.matched == "code_postal":
            return f"{self.nom} — code postal {self.matched_code or self.codes_postaux[0]}"
        return self.label

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "nom": self.nom,
            "departement": self.departement_code,
            "codes_postaux": list(self.codes_postaux),
            "label": self.label,
            "detail": self.detail,
            "correspondance": self.matched,
        }


def _choice(c: Commune) -> CommuneChoice:
    return CommuneChoice(c.code, c.nom, c.departement_code, tuple(c.codes_postaux or ()))


def _order(departement_code: str | None):
    # Communes of the deploying département first, then the most populated.
    first = (Commune.departement_code != departement_code) if departement_code else None
    order = [Commune.population.desc().nulls_last(), Commune.nom]
    return ([first] if first is not None else []) + order


def search_communes(
    session: Session, q: str, limit: int = 10, departement_code: str | None = None
) -> list[CommuneChoice]:
    """Communes whose name starts with `q` or whose postal code or INSEE code is or
    starts with `q` (geo.lookup's rules), those of `departement_code` first."""
    matches = lookup.find_communes(
        session, q, limit, types=("COM",), prefer_departement=departement_code
    )
    return [CommuneChoice(m.code, m.nom, m.departement_code, m.codes_postaux, m.matched, m.matched_code)
            for m in matches]


def resolve_commune(
    session: Session, typed: str, departement_code: str | None = None
) -> list[CommuneChoice]:
    """The communes a person may mean by what they typed: a name ("Laon",
    "st quentin"), a name with its postal code ("Laon (02000)"), a postal code or an
    INSEE code. One match: that commune; several: the person chooses; none: empty."""
    typed = (typed or "").strip()
    if not typed:
        return []
    found = re.match(r"^(.*?)\s*\(?(\d{5}|2[AB]\d{3})\)?$", typed)
    name, code = (found.group(1), found.group(2)) if found else (typed, None)
    stmt = select(Commune).where(Commune.type == "COM")
    if code:
        stmt = stmt.where((code == any_(Commune.codes_postaux)) | (Commune.code == code.upper()))
    if name:
        stmt = stmt.where(Commune.nom_recherche == normalise_name(name))
    rows = session.scalars(stmt.order_by(*_order(departement_code)).limit(30)).all()
    if not rows and name and not code:
        # No exact name: what starts with it.
        return search_communes(session, name, limit=30, departement_code=departement_code)
    if code:
        # Postal matches first, then the commune whose INSEE code was typed.
        choices = [
            CommuneChoice(c.code, c.nom, c.departement_code, tuple(c.codes_postaux or ()),
                          "code_postal" if code in (c.codes_postaux or ()) else "code_commune", code)
            for c in rows
        ]
        return sorted(choices, key=lambda c: c.matched != "code_postal")
    return [_choice(c) for c in rows]


def commune(session: Session, code: str) -> CommuneChoice | None:
    c = session.get(Commune, code)
    return _choice(c) if c is not None else None
