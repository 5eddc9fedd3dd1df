"""Zones and communes as a person types them in a form, one entry per line: a code,
a name with its code in brackets (« Laon (02408) »), or the name of a commune, an
EPCI or a département; and the stored zone written back the same way. The codes
found are then checked and expanded by geo.zones.normalise_zone."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.communes import commune, resolve_commune
from geo.models import Departement, Epci
from geo.names import normalise_name

CODE_IN_PARENS = re.compile(r"\(([0-9AB]{2,9}|france)\)\s*$", re.IGNORECASE)


def zone_words(session: Session, codes: list[str]) -> str:
    """The stored zone as the person reads and types it: « Laon (02408) »."""
    if not codes:
        return ""
    names: dict[str, str] = {}
    communes = [c for c in codes if len(c) == 5]
    for c in communes:
        found = commune(session, c)
        if found:
            names[c] = found.nom
    epcis = [c for c in codes if len(c) == 9]
    if epcis:
        names.update(dict(session.execute(select(Epci.code, Epci.nom).where(Epci.code.in_(epcis))).all()))
    deps = [c for c in codes if len(c) in (2, 3)]
    if deps:
        names.update(dict(session.execute(select(Departement.code, Departement.nom).where(Departement.code.in_(deps))).all()))
    return "\n".join("France entière (france)" if c == "france" else f"{names.get(c, c)} ({c})" for c in codes)


def resolve_zone(session: Session, typed: str, departement_code: str | None) -> tuple[list[str], list[str]]:
    """Codes of what the person typed (one entry per line or comma: a code, or the
    name of a commune, an EPCI or a département), and the errors."""
    codes, errors = [], []
    for entry in (e.strip() for e in re.split(r"[\n;]", typed or "")):
        if not entry:
            continue
        found = CODE_IN_PARENS.search(entry)
        if found:
            codes.append(found.group(1).lower() if found.group(1).lower() == "france" else found.group(1).upper())
            continue
        pieces = [p.strip() for p in entry.split(",")] if "," in entry else [entry]
        for piece in pieces:
            if not piece:
                continue
            if re.fullmatch(r"[0-9]{2,9}|2[AB][0-9]{0,3}|france|region:\d{2}", piece, re.IGNORECASE):
                lower = piece.lower()
                codes.append(lower if lower == "france" or lower.startswith("region:") else piece.upper())
                continue
            code, error = _resolve_name(session, piece, departement_code)
            if error:
                errors.append(error)
            else:
                codes.append(code)
    return codes, errors


def _resolve_name(session: Session, name: str, departement_code: str | None) -> tuple[str | None, str | None]:
    if normalise_name(name) in ("france", "france entiere", "toute la france"):
        return "france", None
    wanted = normalise_name(name)
    deps = [d for d in session.scalars(select(Departement)) if normalise_name(d.nom) == wanted]
    if len(deps) == 1:
        return deps[0].code, None
    epcis = [e for e in session.scalars(select(Epci).where(Epci.nom.ilike(f"%{name[:80]}%")).limit(5))]
    exact = [e for e in epcis if normalise_name(e.nom) == wanted]
    if len(exact) == 1 or (len(epcis) == 1 and len(wanted) >= 6):
        return (exact or epcis)[0].code, None
    communes = resolve_commune(session, name, departement_code=departement_code)
    if len(communes) == 1:
        return communes[0].code, None
    if communes:
        choices = ", ".join(f"{c.label} → {c.code}" for c in communes[:5])
        return None, f"« {name} » désigne plusieurs communes ; écrivez le code voulu : {choices}"
    if epcis:
        choices = ", ".join(f"{e.nom} → {e.code}" for e in epcis[:5])
        return None, f"« {name} » : plusieurs intercommunalités possibles ; écrivez le code voulu : {choices}"
    return None, f"« {name} » : commune, intercommunalité ou département introuvable"


def resolve_place_commune(session: Session, typed: str, departement_code: str | None) -> tuple[dict, str | None]:
    """The commune of the place (name, postal code or INSEE code) as stored fields."""
    typed = (typed or "").strip()
    if not typed:
        return {"commune": None, "code_insee": None, "code_postal": None}, None
    found = CODE_IN_PARENS.search(typed)
    if found and len(found.group(1)) == 5:
        c = commune(session, found.group(1).upper())
        matches = [c] if c else resolve_commune(session, typed, departement_code=departement_code)
    else:
        matches = resolve_commune(session, typed, departement_code=departement_code)
    if len(matches) != 1:
        if matches:
            choices = ", ".join(f"{c.label} (code {c.code})" for c in matches[:5])
            return {}, f"plusieurs communes possibles : {choices} ; précisez, par exemple « {matches[0].nom} ({matches[0].code}) »"
        return {}, f"commune introuvable : « {typed} »"
    c = matches[0]
    # A commune of several postal codes: which one is not known (the place rule,
    # catalogue.places, would read the first as the arrondissement in Paris).
    return {"commune": c.nom, "code_insee": c.code,
            "code_postal": c.codes_postaux[0] if len(c.codes_postaux) == 1 else None}, None
