"""Where a record is: its commune code, postal code, commune name and coordinates
must agree with the référentiel. One rule for every way in (imports, back-office
forms, partner API):

1. A former commune (déléguée, associée: an INSEE code merged into a commune
   nouvelle) stands for its current commune.
2. With coordinates, the commune is the one whose contour holds the point (or lies
   within TOLERANCE_M of it: contours are simplified, places sit on borders). A
   given code whose commune does not hold the point is replaced by the commune
   that does; a code that is no commune (a postal code written as the INSEE code,
   as Soliguide exports often do) too.
3. Without coordinates (or with a point in no commune), a code that is no commune,
   or that neither the postal code nor the name agree with, is found from the
   postal code and the commune name (accents, case, punctuation, "Saint"/"St" and
   the leading article do not matter), then from the postal code alone when it
   names one commune.
4. In Paris, Lyon and Marseille the catalogue stores the arrondissement (what the
   search resolves a point to, and what the commune lookup offers) whenever the
   point or the postal code tells which one; else the commune.
5. The postal code must be one of the commune's (or of its former communes'): else
   it is replaced by the commune's only postal code, or removed when it has
   several. The name must be the commune's, its former communes' or, for an
   arrondissement, its city's: else the référentiel's name is written.

Each change is described in French (`Outcome.repairs`); a record is refused
(`Outcome.error`) only when a commune code was given and nothing places it.

The référentiel's communes are held in memory (`Communes`: 37,000 rows, loaded
once per import run, or only the rows one record needs); the point tests are one
SQL query for many points (`locate_points`), so an import asks once per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.names import normalise_name

# How far outside its commune's contour a point may lie and still agree with it.
TOLERANCE_M = 500
# Distances are measured in degrees of latitude on the geometry with its longitudes
# scaled by cos(latitude) (within a few metres of the geodesic distance at this scale,
# and far cheaper than casting contours to geography).
_METRES_PER_DEGREE = 111_320
_TOLERANCE_DEG = TOLERANCE_M / _METRES_PER_DEGREE
FORMER = ("COMD", "COMA")
# The fields of a record the rule reads.
FIELDS = ("code_insee", "code_postal", "commune", "longitude", "latitude")
_COLUMNS = "code, type, nom, parent_code, codes_postaux"
NAMED = "d'après le code postal et le nom de la commune"


@dataclass(frozen=True)
class Located:
    """What the contours say of a point: whether the given commune holds it (or
    lies within the tolerance), and which commune (or arrondissement) holds it."""

    inside: bool
    near: bool
    found: str | None


@dataclass
class Outcome:
    code_insee: str | None
    code_postal: str | None
    commune: str | None
    repairs: list[str] = field(default_factory=list)
    error: str | None = None


class Communes:
    """The référentiel's communes (all of them, or a few), for the rule above."""

    def __init__(self, rows: Iterable):
        self.nom: dict[str, str] = {}
        self.type: dict[str, str] = {}
        self.parent: dict[str, str | None] = {}
        self.postal: dict[str, tuple[str, ...]] = {}
        self.by_postal: dict[str, list[str]] = {}
        self.children: dict[str, list[str]] = {}
        self._folded: dict[str, str] = {}
        # Memoised: an import asks about the same communes and names many times.
        self._names: dict[str, set[str]] = {}
        self._postal_codes: dict[str, set[str]] = {}
        self._normalised: dict[str, str] = {}
        for r in rows:
            self.add(r.code, r.type, r.nom, r.parent_code, r.codes_postaux)

    def add(self, code, type_, nom, parent, codes_postaux) -> None:
        if code in self.nom:
            return
        self.nom[code], self.type[code], self.parent[code] = nom, type_, parent
        self.postal[code] = tuple(codes_postaux or ())
        for cp in self.postal[code]:
            self.by_postal.setdefault(cp, []).append(code)
        if parent:
            self.children.setdefault(parent, []).append(code)

    @classmethod
    def load(cls, session: Session) -> Communes:
        return cls(session.execute(text(f"SELECT {_COLUMNS} FROM geo_commune")))

    @classmethod
    def around(cls, session: Session, codes: Sequence[str | None], code_postal: str | None) -> Communes:
        """Only the rows the rule may need for these codes and postal code: the
        communes themselves, their parents, children and namesakes by postal code."""
        codes = [c for c in codes if c]
        rows = session.execute(
            text(
                f"WITH base AS (SELECT * FROM geo_commune WHERE code = ANY(CAST(:codes AS varchar[])) "
                "OR codes_postaux @> CAST(ARRAY[:cp] AS varchar[])), "
                "kin AS (SELECT code FROM base UNION SELECT parent_code FROM base WHERE parent_code IS NOT NULL) "
                f"SELECT {_COLUMNS} FROM geo_commune WHERE code IN (SELECT code FROM kin) "
                "OR parent_code IN (SELECT code FROM kin)"
            ),
            {"codes": codes, "cp": code_postal or ""},
        )
        return cls(rows)

    def __contains__(self, code: str | None) -> bool:
        return code in self.nom

    def folded(self, code: str) -> str:
        if code not in self._folded:
            self._folded[code] = normalise_name(self.nom[code])
        return self._folded[code]

    def current(self, code: str) -> str:
        """A former commune's current commune; any other code itself."""
        if self.type.get(code) in FORMER and self.parent.get(code) in self.nom:
            return self.parent[code]
        return code

    def arrondissements(self, code: str) -> list[str]:
        return [c for c in self.children.get(code, ()) if self.type.get(c) == "ARM"]

    def refine(self, code: str, code_postal: str | None) -> str:
        """Paris, Lyon, Marseille: the arrondissement of the postal code, if one."""
        if code_postal:
            found = [c for c in self.arrondissements(code) if code_postal in self.postal[c]]
            if len(found) == 1:
                return found[0]
        return code

    def label(self, code: str) -> str:
        return f"{code} ({self.nom[code]})"

    def postal_codes(self, code: str) -> set[str]:
        """The commune's postal codes and its former communes'."""
        if code not in self._postal_codes:
            codes = set(self.postal.get(code, ()))
            for child in self.children.get(code, ()):
                codes.update(self.postal.get(child, ()))
            self._postal_codes[code] = codes
        return self._postal_codes[code]

    def names(self, code: str) -> set[str]:
        """Folded names the commune answers to: its own, its former communes', and
        its city's for an arrondissement."""
        if code not in self._names:
            names = {self.folded(code)}
            names.update(self.folded(c) for c in self.children.get(code, ()) if self.type.get(c) in FORMER)
            if self.type.get(code) == "ARM" and self.parent.get(code) in self.nom:
                names.add(self.folded(self.parent[code]))
            self._names[code] = names
        return self._names[code]

    def normalised(self, name: str) -> str:
        """normalise_name, memoised (at most 100,000 names)."""
        found = self._normalised.get(name)
        if found is None:
            if len(self._normalised) > 100_000:
                self._normalised.clear()
            found = self._normalised[name] = normalise_name(name)
        return found

    def from_postal(self, code_postal: str | None, commune: str | None) -> tuple[str | None, str]:
        """(code, how) from a postal code and a name, else from the postal code
        alone when it names one commune (arrondissements counting as one)."""
        candidates = self.by_postal.get(code_postal or "", [])
        if not candidates:
            return None, ""
        wanted = normalise_name(commune or "")
        if wanted:
            named = {self.refine(self.current(c), code_postal) for c in candidates if self.folded(c) == wanted}
            if len(named) == 1:
                return named.pop(), NAMED
        alone = {self.refine(self.current(c), code_postal) for c in candidates}
        # A commune and its own arrondissement of that postal code are one place.
        alone = {c for c in alone if not (self.arrondissements(c) and any(self.parent.get(o) == c for o in alone))}
        if len(alone) == 1:
            return alone.pop(), "d'après le code postal"
        return None, ""


def wants_point_test(communes: Communes, code: str | None) -> bool:
    """Whether locate_points must look for the commune holding the point even when
    the given commune holds it: a commune with arrondissements, or no commune."""
    return not code or bool(communes.arrondissements(code))


_LOCATE_SQL = text(
    """
    WITH t AS (
        SELECT i, code, want, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS pt
        FROM unnest(CAST(:codes AS varchar[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]),
                    CAST(:wants AS bool[])) WITH ORDINALITY AS u(code, lon, lat, want, i)
    ), x AS (
        SELECT t.i, t.pt, t.want, g.code AS gcode, g.contour,
               coalesce(ST_Intersects(g.contour, t.pt), false) AS inside
        FROM t LEFT JOIN geo_commune g ON g.code = t.code
    ), y AS (
        SELECT x.*, cos(radians(ST_Y(x.pt))) AS k, CASE WHEN NOT x.inside AND x.gcode IS NOT NULL
            THEN ST_DWithin(ST_Scale(x.contour, cos(radians(ST_Y(x.pt))), 1),
                            ST_Scale(x.pt, cos(radians(ST_Y(x.pt))), 1), :deg)
            ELSE false END AS near
        FROM x
    )
    SELECT y.i, y.inside, y.near,
        CASE WHEN y.want OR NOT (y.inside OR y.near) THEN coalesce(
            (SELECT c.code FROM geo_commune c
             WHERE ST_Intersects(c.contour, y.pt) AND c.type IN ('COM', 'ARM')
             ORDER BY (c.type = 'ARM') DESC, c.code LIMIT 1),
            (SELECT c.code FROM geo_commune c
             WHERE ST_DWithin(c.contour, y.pt, :deg / y.k) AND c.type IN ('COM', 'ARM')
               AND ST_DWithin(ST_Scale(c.contour, y.k, 1), ST_Scale(y.pt, y.k, 1), :deg)
             ORDER BY ST_Distance(ST_Scale(c.contour, y.k, 1), ST_Scale(y.pt, y.k, 1)),
                      (c.type = 'ARM') DESC
             LIMIT 1))
        END AS found
    FROM y ORDER BY y.i
    """
)


def locate_points(
    session: Session, points: Sequence[tuple[str | None, float, float, bool]]
) -> list[Located]:
    """For each (code, lon, lat, want) — `code` a current commune or None — whether
    that commune holds the point (or is within TOLERANCE_M), and, when it does not
    or `want` is set, the commune holding the point (an arrondissement first), or
    the nearest within TOLERANCE_M. One query for all the points."""
    if not points:
        return []
    rows = session.execute(
        _LOCATE_SQL,
        {
            "codes": [p[0] for p in points], "lons": [p[1] for p in points],
            "lats": [p[2] for p in points], "wants": [p[3] for p in points],
            "deg": _TOLERANCE_DEG,
        },
    ).all()
    return [Located(bool(r.inside), bool(r.near), r.found) for r in rows]


def has_point(lon, lat) -> bool:
    return isinstance(lon, (int, float)) and isinstance(lat, (int, float))


def reconcile(
    communes: Communes, code_insee: str | None, code_postal: str | None, commune: str | None,
    located: Located | None = None,
) -> Outcome:
    """The rule (module docstring). `located` is locate_points' answer for the
    record's point and `given_code(...)`, None when the record has no point."""
    given = (code_insee or "").strip().upper() or None
    cp = (code_postal or "").strip() or None
    name = (commune or "").strip() or None
    repairs: list[str] = []
    code = None
    if given in communes:
        code = communes.current(given)
        if code != given:
            repairs.append(
                f"code commune {given} → {communes.label(code)} : ancienne commune "
                f"({communes.nom[given]}) rattachée à la commune actuelle"
            )
    if located is not None:
        if code and (located.inside or located.near):
            if located.found and communes.parent.get(located.found) == code and located.found in communes:
                repairs.append(f"code commune {code} → {communes.label(located.found)} d'après les coordonnées")
                code = located.found
        elif located.found and located.found in communes:
            if given:  # a missing code found is no repair
                repairs.append(f"code commune {given} → {communes.label(located.found)} d'après les coordonnées")
            code = located.found
    if located is None or (located.found is None and not (located.inside or located.near)):
        # No point, or a point in no commune: the postal code and the name decide
        # when the code is unknown, or when both disagree with it and agree with
        # another commune.
        disagrees = code and cp and name and cp not in communes.postal_codes(code) and (
            communes.normalised(name) not in communes.names(code))
        if code is None or disagrees:
            found, how = communes.from_postal(cp, name)
            if disagrees and how != NAMED:
                found = None
            if found and found != code:
                if given:
                    repairs.append(f"code commune {given} → {communes.label(found)} {how}")
                code = found
        if code:
            refined = communes.refine(code, cp)
            if refined != code:
                repairs.append(f"code commune {code} → {communes.label(refined)} d'après le code postal")
                code = refined
    if code is None:
        if given:
            why = ["ce code n'est pas celui d'une commune"]
            if located is not None:
                why.append("les coordonnées ne sont dans aucune commune")
            why.append(f"le code postal {cp} ne désigne pas une seule commune" if cp else "pas de code postal")
            return Outcome(None, cp, name, repairs, f"commune inconnue : {given} ({' ; '.join(why)})")
        return Outcome(None, cp, name, repairs)
    if cp and cp not in communes.postal_codes(code):
        own = sorted(communes.postal_codes(code))
        if len(own) == 1:
            repairs.append(f"code postal {cp} → {own[0]} (celui de {communes.nom[code]})")
            cp = own[0]
        else:
            repairs.append(f"code postal {cp} retiré : ce n'est pas un code postal de {communes.nom[code]}")
            cp = None
    if name and communes.normalised(name) not in communes.names(code):
        repairs.append(f"commune « {name} » → « {communes.nom[code]} » (code {code})")
        name = communes.nom[code]
    elif not name:
        name = communes.nom[code]
    return Outcome(code, cp, name, repairs)


def given_code(communes: Communes, code_insee: str | None) -> str | None:
    """The code whose contour locate_points tests: the current commune of a known
    code, None for an unknown one."""
    code = (code_insee or "").strip().upper() or None
    return communes.current(code) if code in communes else None


def resolve(session: Session, data: dict) -> Outcome:
    """The rule for one record (forms, API): `data` holds code_insee, code_postal,
    commune and optionally longitude/latitude."""
    code, cp = data.get("code_insee"), data.get("code_postal")
    lon, lat = data.get("longitude"), data.get("latitude")
    communes = Communes.around(session, [(code or "").upper()], cp)
    located = None
    if has_point(lon, lat):
        current = given_code(communes, code)
        located = locate_points(session, [(current, lon, lat, wants_point_test(communes, current))])[0]
        if located.found and located.found not in communes:
            for r in session.execute(
                text(f"SELECT {_COLUMNS} FROM geo_commune WHERE code = :c OR code = "
                     "(SELECT parent_code FROM geo_commune WHERE code = :c) OR parent_code = :c"),
                {"c": located.found},
            ):
                communes.add(r.code, r.type, r.nom, r.parent_code, r.codes_postaux)
    return reconcile(communes, code, cp, data.get("commune"), located)
