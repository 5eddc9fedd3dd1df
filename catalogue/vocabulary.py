"""The data·inclusion v1 vocabulary (from the `data-inclusion-schema` package) and
the ten SPIE thematics, a grouping over its categories (package data copied from
the shared reference). Codes are stored; labels are rendered."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from data_inclusion.schema import v1


def _labels(enum) -> dict[str, str]:
    return {member.value: member.label for member in enum}


@cache
def thematiques() -> dict[str, str]:
    """Thematique code -> label (69 codes, `categorie--sous-thematique`)."""
    return _labels(v1.Thematique)


@cache
def categories() -> dict[str, str]:
    return _labels(v1.Categorie)


@cache
def publics() -> dict[str, str]:
    return _labels(v1.Public)


@cache
def frais() -> dict[str, str]:
    return _labels(v1.Frais)


@cache
def types() -> dict[str, str]:
    return _labels(v1.TypeService)


@cache
def modes_accueil() -> dict[str, str]:
    return _labels(v1.ModeAccueil)


@cache
def modes_mobilisation() -> dict[str, str]:
    return _labels(v1.ModeMobilisation)


@cache
def mobilisable_par() -> dict[str, str]:
    return _labels(v1.PersonneMobilisatrice)


@cache
def reseaux_porteurs() -> dict[str, str]:
    return _labels(v1.ReseauPorteur)


TOUS_PUBLICS = "tous-publics"
A_DISTANCE = "a-distance"
EN_PRESENTIEL = "en-presentiel"


def categorie_of(thematique: str) -> str:
    return thematique.split("--", 1)[0]


@dataclass(frozen=True)
class SpieGroup:
    rank: int
    code: str
    label: str
    categories: tuple[str, ...]
    thematiques: tuple[str, ...]


@cache
def spie_groups() -> tuple[SpieGroup, ...]:
    """The ten SPIE thematics, in their rank order."""
    raw = json.loads(resources.files("catalogue").joinpath("spie_thematiques.json").read_text())
    return tuple(
        SpieGroup(
            rank=g["rank"],
            code=g["code"],
            label=g["label"],
            categories=tuple(g["categories"]),
            thematiques=tuple(g["thematiques"]),
        )
        for g in sorted(raw["groups"], key=lambda g: g["rank"])
    )


@cache
def spie_group_by_code() -> dict[str, SpieGroup]:
    return {g.code: g for g in spie_groups()}


@cache
def spie_group_of_categorie() -> dict[str, SpieGroup]:
    return {c: g for g in spie_groups() for c in g.categories}


def spie_group_of(thematique: str) -> SpieGroup | None:
    return spie_group_of_categorie().get(categorie_of(thematique))


def thematique_label(code: str) -> str:
    """The label of a SPIE group, a category or a thematique code (the code itself
    when unknown)."""
    group = spie_group_by_code().get(code)
    if group:
        return group.label
    return categories().get(code) or thematiques().get(code) or code


def expand_thematiques(codes: list[str] | tuple[str, ...]) -> list[str]:
    """Thematiques matched by a filter: a thematique matches itself, a data·inclusion
    category all its thematiques, a SPIE group all the thematiques of its categories.
    Raises KeyError naming the first unknown code."""
    result: list[str] = []
    for code in codes:
        if code in thematiques():
            found = [code]
        elif code in categories():
            found = [t for t in thematiques() if categorie_of(t) == code]
        elif code in spie_group_by_code():
            cats = set(spie_group_by_code()[code].categories)
            found = [t for t in thematiques() if categorie_of(t) in cats]
        else:
            raise KeyError(code)
        result.extend(t for t in found if t not in result)
    return result
