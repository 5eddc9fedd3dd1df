"""Read queries of the public pages: communes as typed, zones in words and as
shapes, structures with their services, the points of the public map."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import any_, select, text
from sqlalchemy.orm import Session, selectinload

from catalogue import permissions, vocabulary
from catalogue.models import Service, Status, Structure
from geo import lookup
from geo.models import Commune, Departement, Epci
from geo.names import normalise_name
from web import typography


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
            names[code] = typography.de(nom)
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


def zone_geojson(session: Session, code: str) -> dict | None:
    """The simplified boundary of a zone code (commune, EPCI or département) as a
    GeoJSON geometry; None for "france" or an unknown code."""
    if len(code) == 5:
        where, tolerance = "code = :c", 0.0005
    elif len(code) == 9:
        where, tolerance = "epci_code = :c", 0.002
    elif len(code) in (2, 3):
        where, tolerance = "departement_code = :c", 0.003
    else:
        return None
    raw = session.scalar(
        text(
            f"SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_Union(contour), :t), 5) "
            f"FROM geo_commune WHERE type = 'COM' AND {where}"
        ),
        {"c": code, "t": tolerance},
    )
    return json.loads(raw) if raw else None


def service_with_structure(session: Session, service_id: uuid.UUID) -> Service | None:
    return session.scalars(
        select(Service)
        .join(Structure, Structure.id == Service.structure_id)
        .options(selectinload(Service.structure))
        .where(Service.id == service_id, permissions.public_service())
    ).first()


def service_point(session: Session, service_id: uuid.UUID) -> tuple[float, float] | None:
    return points_of(session, [service_id]).get(service_id)


def points_of(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[float, float]]:
    """(lon, lat) of the services that have a place."""
    if not ids:
        return {}
    rows = session.execute(
        text(
            "SELECT id, ST_X(location::geometry), ST_Y(location::geometry) FROM service "
            "WHERE id = ANY(:ids) AND location IS NOT NULL"
        ),
        {"ids": list(ids)},
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def structure_with_services(session: Session, structure_id: uuid.UUID) -> Structure | None:
    structure = session.scalars(
        select(Structure).where(Structure.id == structure_id, Structure.status == Status.PUBLIE)
    ).first()
    return structure


def published_services_of(session: Session, structure_id: uuid.UUID) -> list[Service]:
    return list(
        session.scalars(
            select(Service)
            .where(Service.structure_id == structure_id, Service.status == Status.PUBLIE)
            .order_by(Service.nom)
        )
    )


def _map_filter(group: str | None, departement: str | None) -> tuple[str, dict]:
    clauses = [permissions.PUBLIC_SERVICE_SQL, "s.location IS NOT NULL", "NOT s.duplicate_hidden"]
    params: dict = {}
    if group:
        clauses.append("s.thematiques && :thematiques")
        params["thematiques"] = vocabulary.expand_thematiques([group])
    if departement:
        clauses.append("c.departement_code = :dep")
        params["dep"] = departement
    return " AND ".join(clauses), params


def map_points(session: Session, group: str | None = None, departement: str | None = None) -> list[list]:
    """The published, located services not hidden as duplicates as [lon, lat, id-hex] rows,
    coordinates rounded to 5 decimals (about 1 m)."""
    where, params = _map_filter(group, departement)
    join = "LEFT JOIN geo_commune c ON c.code = s.code_insee" if departement else ""
    rows = session.execute(
        text(
            "SELECT round(ST_X(s.location::geometry)::numeric, 5), "
            "round(ST_Y(s.location::geometry)::numeric, 5), replace(s.id::text, '-', '') "
            f"FROM service s JOIN structure st ON st.id = s.structure_id {join} WHERE {where}"
        ),
        params,
    )
    return [[float(x), float(y), i] for x, y, i in rows]


def map_communes(session: Session, group: str | None = None, departement: str | None = None) -> list[dict]:
    """The list alternative of the map: communes with their number of offers."""
    where, params = _map_filter(group, departement)
    rows = session.execute(
        text(
            "SELECT c.code, c.nom, count(*) FROM service s JOIN structure st ON st.id = s.structure_id "
            "JOIN geo_commune c ON c.code = s.code_insee "
            f"WHERE {where} GROUP BY c.code, c.nom ORDER BY c.nom"
        ),
        params,
    )
    return [{"code": code, "nom": nom, "services": n} for code, nom, n in rows]


def map_popup(session: Session, service_id: uuid.UUID) -> dict | None:
    row = session.execute(
        select(Service.id, Service.nom, Service.commune, Service.thematiques, Structure.nom)
        .join(Structure, Structure.id == Service.structure_id)
        .where(Service.id == service_id, permissions.public_service())
    ).first()
    if row is None:
        return None
    labels = vocabulary.thematiques()
    return {
        "id": str(row[0]),
        "nom": row[1],
        "commune": row[2],
        "thematiques": [labels.get(t, t) for t in row[3]],
        "structure": row[4],
    }
