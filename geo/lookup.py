"""Commune lookup, for forms and for the API: by the beginning of a name, by a
postal code (or its beginning), or by an INSEE code.

Five digits may be either code: the commune whose INSEE code they are and the
communes whose postal code they are are all found, each saying what matched
(`CommuneMatch.matched`). Forms list the postal matches first (what people type
most); the API the commune of that INSEE code first (`code_first`). The INSEE match
is never cut off by the limit.

Names are compared in their normalised form (`geo.names.normalise_name`): accents,
case, hyphens, apostrophes, "Saint"/"St" and the leading article do not matter;
an article that is typed ("la fere", "l abergement") must be the commune's own.
The last word is a prefix ("chateau thi"), and a beginning of "saint" ("sai")
also finds the "St" names. Matches are ranked: a whole-name match first, then by
population (most populated first), then by code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.names import leading_article, normalise_name

INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$", re.IGNORECASE)
_POSTAL_PREFIX = re.compile(r"^\d{2,4}$")
# How an article typed by the user must open the commune's official name.
_ARTICLE_SQL = {
    "le": "Le %", "la": "La %", "les": "Les %", "l": "L'%",
    "aux": "Aux %", "las": "Las %", "los": "Los %",
}
# Communes and the municipal arrondissements of Paris, Lyon and Marseille; former
# communes (déléguées, associées) only when asked for.
DEFAULT_TYPES = ("COM", "ARM")
MAX_LIMIT = 50


@dataclass(frozen=True)
class CommuneMatch:
    code: str
    nom: str
    type: str  # COM, ARM (arrondissement municipal), COMD, COMA (former communes)
    parent_code: str | None  # the commune of an arrondissement or former commune
    codes_postaux: tuple[str, ...]
    population: int | None
    departement_code: str | None
    departement_nom: str | None
    region_code: str | None
    region_nom: str | None
    epci_code: str | None
    epci_nom: str | None
    lon: float | None  # the centre, inside the boundary (EPSG:4326)
    lat: float | None
    # What the query matched: "nom", "code_postal" (or its beginning), "code_commune".
    matched: str = "nom"
    matched_code: str | None = None  # the postal code or INSEE code that matched

    @property
    def label(self) -> str:
        """"Château-Thierry (02400)": the name and its postal code (the one that
        matched, else the first); "Bony (code commune 02100)" when the INSEE code matched."""
        if self.matched == "code_commune":
            return f"{self.nom} (code commune {self.code})"
        postal = self.matched_code if self.matched == "code_postal" and self.matched_code else None
        postal = postal or (self.codes_postaux[0] if self.codes_postaux else None)
        return f"{self.nom} ({postal})" if postal else self.nom

    @property
    def matched_label(self) -> str:
        """What matched, in words: « code postal 02100 », « code commune 02100 »."""
        if self.matched == "code_commune":
            return f"code commune {self.code}"
        if self.matched == "code_postal":
            return f"code postal {self.matched_code}" if self.matched_code else "code postal"
        return "nom"

    def as_dict(self) -> dict:
        ref = lambda code, nom: {"code": code, "nom": nom or code} if code else None  # noqa: E731
        return {
            "code": self.code,
            "nom": self.nom,
            "codes_postaux": list(self.codes_postaux),
            "epci": ref(self.epci_code, self.epci_nom),
            "departement": ref(self.departement_code, self.departement_nom),
            "region": ref(self.region_code, self.region_nom),
            "centre": {"longitude": self.lon, "latitude": self.lat} if self.lon is not None else None,
            "population": self.population,
            "correspondance": {"type": self.matched, "libelle": self.matched_label},
        }


_COLUMNS = """
    c.code, c.nom, c.type, c.parent_code, c.codes_postaux, c.population,
    c.departement_code, d.nom AS departement_nom, c.region_code, r.nom AS region_nom,
    c.epci_code, e.nom AS epci_nom,
    ST_X(c.centre::geometry) AS lon, ST_Y(c.centre::geometry) AS lat
    FROM geo_commune c
    LEFT JOIN geo_epci e ON e.code = c.epci_code
    LEFT JOIN geo_departement d ON d.code = c.departement_code
    LEFT JOIN geo_region r ON r.code = c.region_code
"""


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _name_patterns(name: str) -> list[str]:
    """LIKE patterns for a normalised name; the last word is a prefix."""
    patterns = [_escape_like(name) + "%"]
    head, _, last = name.rpartition(" ")
    # "sai", "sain", "saint", "sainte": the names are stored with "st".
    if len(last) >= 2 and last != "st" and ("sainte".startswith(last)):
        patterns.append(_escape_like((head + " " if head else "") + "st") + "%")
    return patterns


def find_communes(
    session: Session,
    query: str,
    limit: int = 10,
    *,
    types: tuple[str, ...] = DEFAULT_TYPES,
    departement: str | None = None,
    prefer_departement: str | None = None,
    code_first: bool = False,
) -> list[CommuneMatch]:
    """Communes matching `query` (see the module docstring), at most `limit`
    (capped at MAX_LIMIT). `departement` restricts to one département;
    `prefer_departement` ranks its communes first (the deploying département's, in
    its forms). Five digits: the communes of that postal code first, or, with
    `code_first` (the API), the commune of that INSEE code first. An empty or
    meaningless query finds nothing."""
    query = (query or "").strip()
    limit = max(1, min(int(limit), MAX_LIMIT))
    params: dict = {"limit": limit, "types": list(types)}
    where = ["c.type = ANY(:types)"]
    order = []
    if departement:
        where.append("c.departement_code = :dep")
        params["dep"] = departement.upper()
    matched = "nom"
    if INSEE_CODE.match(query):
        code = query.upper()
        return _by_code(session, code, limit, list(types), departement, prefer_departement, code_first)
    if _POSTAL_PREFIX.match(query):
        matched = "code_postal"
        # The beginning of a postal code: every code it may begin (at most 1,000).
        width = 5 - len(query)
        params["codes"] = [f"{query}{n:0{width}d}" for n in range(10**width)]
        where.append("c.codes_postaux && CAST(:codes AS varchar[])")
    else:
        name = normalise_name(query)
        if not name:
            return []
        patterns = _name_patterns(name)
        where.append("(" + " OR ".join(f"c.nom_recherche LIKE :p{i}" for i in range(len(patterns))) + ")")
        params.update({f"p{i}": p for i, p in enumerate(patterns)})
        article = leading_article(query)
        if article:
            where.append("c.nom LIKE :article")
            params["article"] = _ARTICLE_SQL[article]
        order.append("(c.nom_recherche = :exact) DESC")
        params["exact"] = name
    if prefer_departement:
        order.insert(0, "(c.departement_code = :prefer) DESC")
        params["prefer"] = prefer_departement.upper()
    order += ["c.population DESC NULLS LAST", "c.code"]
    rows = session.execute(
        text(f"SELECT {_COLUMNS} WHERE {' AND '.join(where)} ORDER BY {', '.join(order)} LIMIT :limit"),
        params,
    ).all()
    if matched == "code_postal":
        return [_match(r, "code_postal", next((p for p in r.codes_postaux or () if p.startswith(query)), None))
                for r in rows]
    return [_match(r) for r in rows]


def _match(r, matched: str = "nom", matched_code: str | None = None) -> CommuneMatch:
    return CommuneMatch(
        code=r.code, nom=r.nom, type=r.type, parent_code=r.parent_code,
        codes_postaux=tuple(r.codes_postaux or ()), population=r.population,
        departement_code=r.departement_code, departement_nom=r.departement_nom,
        region_code=r.region_code, region_nom=r.region_nom,
        epci_code=r.epci_code, epci_nom=r.epci_nom, lon=r.lon, lat=r.lat,
        matched=matched, matched_code=matched_code,
    )


def _by_code(session: Session, code: str, limit: int, types: list[str], departement: str | None,
             prefer_departement: str | None, code_first: bool) -> list[CommuneMatch]:
    """Five characters: the commune of that INSEE code (kept whatever the limit) and
    the communes of that postal code."""
    where = ["c.type = ANY(:types)"]
    params: dict = {"types": types, "code": code, "limit": limit}
    if departement:
        where.append("c.departement_code = :dep")
        params["dep"] = departement.upper()
    order = ["c.population DESC NULLS LAST", "c.code"]
    if prefer_departement:
        order.insert(0, "(c.departement_code = :prefer) DESC")
        params["prefer"] = prefer_departement.upper()
    conditions = " AND ".join(where)
    by_insee = session.execute(
        text(f"SELECT {_COLUMNS} WHERE {conditions} AND c.code = :code"), params
    ).first()
    # `@>` lets the GIN index of codes_postaux answer (`= ANY` would not).
    by_postal = session.execute(
        text(f"SELECT {_COLUMNS} WHERE {conditions} AND c.codes_postaux @> CAST(ARRAY[:code] AS varchar[]) "
             f"ORDER BY {', '.join(order)} LIMIT :limit"),
        params,
    ).all()
    postal = [_match(r, "code_postal", code) for r in by_postal]
    if by_insee is None or any(m.code == by_insee.code for m in postal):
        return postal[:limit]
    insee = _match(by_insee, "code_commune", code)
    if code_first:
        return [insee, *postal][:limit]
    return [*postal[: limit - 1], insee]


def search_communes(session: Session, query: str, limit: int = 10) -> list[dict]:
    """`find_communes` as plain dicts (the shape of GET /api/v1/communes): an
    INSEE code's commune before the communes of the same postal code."""
    return [m.as_dict() for m in find_communes(session, query, limit, code_first=True)]


def commune_of(session: Session, code: str) -> str | None:
    """The commune a code stands for: itself for a commune, its commune for an
    arrondissement of Paris, Lyon or Marseille or a former commune; None if unknown."""
    row = session.execute(
        text("SELECT code, parent_code FROM geo_commune WHERE code = :c"), {"c": (code or "").upper()}
    ).first()
    if row is None:
        return None
    return row.parent_code or row.code


def commune_name(session: Session, code: str) -> str | None:
    """The name of a commune code, None if unknown."""
    return session.scalar(text("SELECT nom FROM geo_commune WHERE code = :c"), {"c": code})


def departement_name(session: Session, code: str) -> str | None:
    """The name of a département code, None if unknown."""
    return session.scalar(text("SELECT nom FROM geo_departement WHERE code = :c"), {"c": code})


def commune_count(session: Session) -> int:
    """How many communes the référentiel holds (0 before `geo load`)."""
    return session.scalar(text("SELECT count(*) FROM geo_commune")) or 0


def centre_of(session: Session, code_commune: str | None, departement_code: str) -> tuple[float, float] | None:
    """(lat, lon) of a commune's centre, else (no commune) of the centre of the
    département's communes; None if unknown."""
    row = session.execute(
        text(
            "SELECT ST_Y(ST_Centroid(ST_Collect(centre::geometry))), ST_X(ST_Centroid(ST_Collect(centre::geometry))) "
            "FROM geo_commune WHERE CASE WHEN CAST(:c AS text) IS NOT NULL THEN code = :c ELSE departement_code = :d END"
        ),
        {"c": code_commune, "d": departement_code},
    ).first()
    return (row[0], row[1]) if row and row[0] is not None else None
