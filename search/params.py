"""The parameters of a search, declared once: `SearchArgs` validates them (errors
in French, each naming its parameter), documents them (the OpenAPI of
/api/v1/services/search is generated from it) and builds the `SearchQuery`.

The JSON API, the public results pages, the exports and the CTO read a search
through it (web.search_.parse_query), so the same parameters mean the same thing
everywhere. Names are those of data·inclusion where it has one, plus ours.
Lists may be repeated or comma-separated; an empty value counts as absent (what
an HTML form sends for a field left blank); a parameter that takes one value
refuses two.

What only the catalogue can tell (an unknown commune, territory or structure, a
stale cursor) is refused by the engine with the same InvalidQuery(field, reason).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validates_schema,
)

from catalogue import vocabulary
from catalogue.schemas import INSEE_COMMUNE, in_france, parse_decimal, parse_int
from search.contract import DEFAULT_RADIUS_KM, MAX_PAGE_SIZE, SearchQuery, Sort
from search.errors import InvalidQuery

MIN_RADIUS_KM, MAX_RADIUS_KM = 1, 200
MAX_TEXT = 200
MAX_PAGE = 100_000
DEFAULT_SIZE = 20
OPEN_AT_YEARS = (1900, 2199)
PARIS = ZoneInfo("Europe/Paris")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_SOURCE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_TRUE = {"1", "true", "oui", "yes", "on"}
_FALSE = {"0", "false", "non", "no", "off"}
_LIST = "liste : paramètre répété ou valeurs séparées par des virgules"


def parse_local_datetime(raw: str, name: str) -> datetime:
    """A date and time in Paris time from ISO text; an offset (+01:00, Z) is converted.
    Years outside OPEN_AT_YEARS are refused (0001-01-01T00:00+14:00 would overflow).
    Raises InvalidQuery(name, reason)."""
    try:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is not None:
            value = value.astimezone(PARIS).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidQuery(name, f"date et heure invalides : « {raw} » (attendu AAAA-MM-JJTHH:MM)") from None
    lo, hi = OPEN_AT_YEARS
    if not lo <= value.year <= hi:
        raise InvalidQuery(name, f"date hors des années {lo} à {hi} : « {raw} »")
    return value


# --- fields: each refuses with the sentence a person reads ---------------------------

class Number(fields.Float):
    """A decimal number in ASCII digits (a comma is a decimal point), within bounds."""

    def __init__(self, what: str, lo: float, hi: float, **kwargs):
        super().__init__(**kwargs)
        self.what, self.lo, self.hi = what, lo, hi

    def _deserialize(self, value, attr, data, **kwargs):
        value = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        number = parse_decimal(value)
        if number is None:
            raise ValidationError(f"{self.what} : nombre attendu, reçu « {value} »")
        if not self.lo <= number <= self.hi:
            raise ValidationError(f"{self.what} : doit être entre {self.lo:g} et {self.hi:g}, reçu {value}")
        return number


class Whole(fields.Integer):
    """A whole number in ASCII digits, within bounds."""

    def __init__(self, lo: int, hi: int, **kwargs):
        super().__init__(**kwargs)
        self.lo, self.hi = lo, hi

    def _deserialize(self, value, attr, data, **kwargs):
        number = parse_int(value)
        if number is None:
            raise ValidationError(f"nombre entier attendu, reçu « {value} »")
        if not self.lo <= number <= self.hi:
            raise ValidationError(f"doit être entre {self.lo} et {self.hi}, reçu {number}")
        return number


class Text(fields.String):
    """Text checked by `check(value)`, which returns the value kept or raises."""

    def __init__(self, check: Callable[[str], object], **kwargs):
        super().__init__(**kwargs)
        self.check = check

    def _deserialize(self, value, attr, data, **kwargs):
        return self.check(super()._deserialize(value, attr, data, **kwargs))


class YesNo(fields.Boolean):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        word = str(value).lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValidationError(f"true ou false attendu, reçu « {value} »")


class Codes(fields.List):
    """Codes, repeated or comma-separated, each once, each known (`known()` gives
    the set) or matching `pattern`; `what` says what an unknown one is."""

    def __init__(self, what: str, *, known: Callable[[], set] | None = None,
                 pattern: re.Pattern | None = None, **kwargs):
        super().__init__(fields.String(), **kwargs)
        self.what, self.known, self.pattern = what, known, pattern

    def _deserialize(self, value, attr, data, **kwargs):
        values: list[str] = []
        for raw in value if isinstance(value, list | tuple) else [value]:
            for part in str(raw).split(","):
                part = part.strip()
                if part and part not in values:
                    values.append(part)
        if self.known is not None:
            bad = [v for v in values if v not in self.known()]
        else:
            bad = [v for v in values if not self.pattern.match(v)]
        if bad:
            raise ValidationError(f"{self.what} : {', '.join(bad)}")
        return tuple(values)


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValidationError(f"texte trop long ({len(value)} caractères, {MAX_TEXT} au plus)")
    return value


def _commune(value: str) -> str:
    code = value.upper()
    if not INSEE_COMMUNE.match(code):
        raise ValidationError(f"code INSEE de commune invalide : « {code} » (5 caractères, ex. 02408)")
    return code


def _structure(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationError(f"identifiant de structure invalide : « {value} »") from None


def _territory(value: str) -> str:
    if not _SLUG.match(value):
        raise ValidationError(f"identifiant de territoire invalide : « {value} »")
    return value


def _open_at(value: str) -> datetime:
    try:
        return parse_local_datetime(value, "ouvert_le")
    except InvalidQuery as exc:
        raise ValidationError(exc.message) from None


def _sort(value: str) -> Sort:
    try:
        return Sort(value)
    except ValueError:
        raise ValidationError(f"tri inconnu : « {value} » (pertinence, distance ou fraicheur)") from None


def _thematique_codes() -> set[str]:
    return set(vocabulary.thematiques()) | set(vocabulary.categories()) | set(vocabulary.spie_group_by_code())


def _doc(text: str) -> dict:
    return {"metadata": {"description": text}}


# --- the schema ------------------------------------------------------------------------

class SearchArgs(Schema):
    """The query-string parameters of a search; `load` gives the SearchQuery.
    `default_radius_km` (a number, or a callable giving it: the app's setting) is the
    radius when `rayon_km` is not given."""

    class Meta:
        unknown = EXCLUDE

    q = Text(_text, **_doc("Texte libre (accents, fautes de frappe et synonymes tolérés)."))
    code_commune = Text(_commune, **_doc("Code INSEE de la commune de la personne (éligibilité, distance)."))
    lat = Number("latitude", -90, 90, **_doc(
        "Latitude du point de recherche (WGS84), avec lon ; un point hors de France "
        "(métropole, Corse, outre-mer) est refusé (400)."))
    lon = Number("longitude", -180, 180, **_doc("Longitude du point de recherche (WGS84), avec lat."))
    rayon_km = Number("rayon en km", MIN_RADIUS_KM, MAX_RADIUS_KM, **_doc(
        f"Rayon en km pour les services en présentiel ({MIN_RADIUS_KM} à {MAX_RADIUS_KM}, "
        f"{DEFAULT_RADIUS_KM} par défaut)."))
    thematiques = Codes("thématique inconnue", known=_thematique_codes, **_doc(
        f"Thématiques, catégories data·inclusion ou thématiques SPIE ({_LIST})."))
    publics = Codes("public inconnu", known=lambda: set(vocabulary.publics()),
                    **_doc(f"Publics (tous-publics inclus d'office) ({_LIST})."))
    frais = Codes("frais inconnus", known=lambda: set(vocabulary.frais()), **_doc(f"Frais (gratuit, payant) ({_LIST})."))
    types = Codes("type de service inconnu", known=lambda: set(vocabulary.types()),
                  **_doc(f"Types de service ({_LIST})."))
    modes_accueil = Codes("mode d'accueil inconnu", known=lambda: set(vocabulary.modes_accueil()),
                          **_doc(f"Modes d'accueil (en-presentiel, a-distance) ({_LIST})."))
    mobilisable_par = Codes("valeur inconnue", known=lambda: set(vocabulary.mobilisable_par()),
                            **_doc(f"Qui peut mobiliser le service (professionnels, usagers) ({_LIST})."))
    sources = Codes("nom de source invalide", pattern=_SOURCE, **_doc(f"Sources des données ({_LIST})."))
    structure = Text(_structure, **_doc("Identifiant (catalogue) d'une structure."))
    territoire = Text(_territory, **_doc("Identifiant d'un territoire (ses communes)."))
    ouvert_le = Text(_open_at, **_doc("Ouvert à cette date et heure (ISO 8601, heure de Paris si sans fuseau)."))
    tri = Text(_sort, **_doc("pertinence (défaut), distance ou fraicheur."))
    exclure_doublons = YesNo(**_doc(
        "Masquer les doublons sûrs (true par défaut) ; un doublon seulement proposé aux "
        "modérateurs reste visible."))
    page = Whole(1, MAX_PAGE, **_doc("Numéro de page (1 par défaut)."))
    size = Whole(1, MAX_PAGE_SIZE, **_doc(f"Taille de page ({DEFAULT_SIZE} par défaut, {MAX_PAGE_SIZE} au plus)."))
    cursor = fields.String(**_doc("Curseur de la page suivante (next_cursor), stable pour les parcours complets."))

    def __init__(self, *, default_radius_km: float | Callable[[], float] = DEFAULT_RADIUS_KM, **kwargs):
        super().__init__(**kwargs)
        self.default_radius_km = default_radius_km

    @pre_load
    def _one_value_each(self, data, **_kwargs) -> dict:
        """From a query string (a MultiDict, or webargs' proxy of one): blank values
        dropped, lists as lists, two values of a one-value parameter refused."""
        raw = getattr(data, "data", data)
        out: dict = {}
        errors: dict = {}
        for name, field in self.fields.items():
            if hasattr(raw, "getlist"):
                values = raw.getlist(name)
            elif isinstance(raw, Mapping) and name in raw:
                values = raw[name] if isinstance(raw[name], list | tuple) else [raw[name]]
            else:
                values = []
            values = [v.strip() if isinstance(v, str) else v for v in values]
            values = [v for v in values if v not in ("", None)]
            if not values:
                continue
            if isinstance(field, fields.List):
                out[name] = values
            elif len(values) > 1:
                errors[name] = ["une seule valeur est attendue"]
            else:
                out[name] = values[0]
        if errors:
            raise ValidationError(errors)
        return out

    @validates_schema
    def _together(self, data, **_kwargs) -> None:
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None) != (lon is None):
            raise ValidationError("lat et lon vont ensemble : donnez les deux", "lon" if lon is None else "lat")
        if lat is not None and not in_france(lon, lat):
            raise ValidationError(f"le point ({lat}, {lon}) est hors de France", "lat")
        if data.get("tri") == Sort.DISTANCE and not data.get("code_commune") and lat is None:
            raise ValidationError(
                "le tri par distance demande une commune (code_commune) ou un point (lat, lon)", "tri")

    @post_load
    def _query(self, data, **_kwargs) -> SearchQuery:
        default = self.default_radius_km
        radius = data.get("rayon_km")
        if radius is None:
            radius = default() if callable(default) else default
        return SearchQuery(
            text=data.get("q"),
            code_commune=data.get("code_commune"),
            point=(data["lon"], data["lat"]) if data.get("lat") is not None else None,
            radius_km=radius,
            **{name: data.get(name, ()) for name in (
                "thematiques", "publics", "frais", "types", "modes_accueil", "mobilisable_par", "sources")},
            structure=data.get("structure"),
            territory=data.get("territoire"),
            open_at=data.get("ouvert_le"),
            hide_duplicates=data.get("exclure_doublons", True),
            sort=data.get("tri", Sort.PERTINENCE),
            page=data.get("page", 1),
            size=data.get("size", DEFAULT_SIZE),
            cursor=data.get("cursor"),
        )

    def query(self, args) -> SearchQuery:
        """The SearchQuery of `args` (a MultiDict or a dict). Raises InvalidQuery
        naming the first wrong parameter (in the order declared here)."""
        try:
            return self.load(args)
        except ValidationError as exc:
            raise first_error(self, exc.messages) from None


def blank_as_absent(_converter, field, **_kwargs) -> dict:
    """apispec parameter attribute function: a search parameter left blank counts as
    absent (SearchArgs._one_value_each), which OpenAPI says with allowEmptyValue."""
    return {"allowEmptyValue": True} if isinstance(field.parent, SearchArgs) and not field.required else {}


def first_error(schema: Schema, messages) -> InvalidQuery:
    """The error of the first wrong parameter, as an InvalidQuery."""
    if not isinstance(messages, dict) or not messages:
        return InvalidQuery("_schema", str(messages))
    order = [name for name in schema.fields if name in messages] or list(messages)
    name = order[0]
    reasons = messages[name]
    reason = reasons[0] if isinstance(reasons, list) and reasons else str(reasons)
    return InvalidQuery(name, str(reason))


def query_from_args(args, *, default_radius_km: float = DEFAULT_RADIUS_KM) -> SearchQuery:
    """The SearchQuery of query-string parameters (benchmarks, tests, scripts).
    Raises InvalidQuery(parameter, reason)."""
    return SearchArgs(default_radius_km=default_radius_km).query(args)
