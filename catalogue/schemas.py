"""Input validation of structures and services (marshmallow). Messages are French
and name the field; checks that need the référentiel are in catalogue.writes."""

from __future__ import annotations

import functools
import re
from functools import lru_cache

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from catalogue import hours, vocabulary

_MSG = {
    "required": "champ obligatoire",
    "null": "ne peut pas être vide",
    "invalid": "valeur invalide",
    "type": "valeur invalide",
}


def _m(**extra):
    return {**_MSG, **extra}


def Str(**kw):
    return fields.String(error_messages=_m(), **kw)


def Codes(**kw):
    return fields.List(
        fields.String(error_messages=_m()), error_messages=_m(invalid="une liste est attendue"), **kw
    )


# Length limits of the free-text fields, in characters, shared by the forms, the
# API and the imports (all load these schemas). Names and descriptions are those of
# data·inclusion v1 (its pydantic models: nom ≤ 150, description ≤ 10 000); the
# others are sane bounds, far above any real value (docs/security.md).
TEXT_LIMITS = {
    "nom": 150,
    "description": 10_000,
    "commune": 150,
    "adresse": 300,
    "complement_adresse": 300,
    "telephone": 50,
    "courriel": 254,
    "horaires_accueil": 1_000,
    "frais_precisions": 2_000,
    "publics_precisions": 2_000,
    "conditions_acces": 2_000,
    "contact_nom_prenom": 150,
    "mobilisation_precisions": 2_000,
    "message_temporaire": 2_000,
}
URL_MAX = 2_000


def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


class MaxChars(validate.Validator):
    """At most `limit` characters; the message says the limit and what was sent."""

    def __init__(self, limit: int):
        self.limit = limit

    def __call__(self, value):
        if value is not None and len(value) > self.limit:
            raise ValidationError(f"{_n(self.limit)} caractères au plus ({_n(len(value))} reçus)")
        return value


URL_FIELDS = ("lien_source", "site_web", "accessibilite_lieu", "lien_mobilisation")
_ALL_LIMITS = tuple({**TEXT_LIMITS, **dict.fromkeys(URL_FIELDS, URL_MAX)}.items())


def text_limit_errors(data: dict) -> dict[str, list[str]]:
    """The length limits alone, for records already validated by data·inclusion's own
    models (importers): field -> reasons, the same messages as the schemas'."""
    errors: dict[str, list[str]] = {}
    for name, limit in _ALL_LIMITS:
        value = data.get(name)
        # The length tested first: a validator built for a value over its limit only.
        if isinstance(value, str) and len(value) > limit:
            try:
                MaxChars(limit)(value)
            except ValidationError as exc:
                errors[name] = list(exc.messages)
    return errors


# Rules written once: the schemas below call them, and so do the importers for the
# records that data·inclusion's own models validated (`rules_beyond_di_models`).
TOUS_PUBLICS_ALONE = "« tous-publics » ne peut pas être combiné avec d'autres publics"
POSITIVE = "doit être positif"
AT_LEAST_ONE = "au moins 1"


@lru_cache(maxsize=10_000)
@functools.lru_cache(maxsize=20_000)  # an import checks the same few expressions 100,000 times
def hours_error(expression: str) -> str | None:
    """Why an opening-hours expression is refused (catalogue.hours), None if valid."""
    try:
        hours.validate(expression)
    except hours.HoursError as exc:
        return str(exc)
    return None


def publics_error(publics: list[str]) -> str | None:
    if vocabulary.TOUS_PUBLICS in publics and len(publics) > 1:
        return TOUS_PUBLICS_ALONE
    return None


def rules_beyond_di_models(data: dict) -> dict[str, list[str]]:
    """The catalogue's rules that the data·inclusion v1 models do not check
    themselves (the rest, vocabularies, lengths, formats, they do): field ->
    reasons, the schemas' messages. A valid `horaires_accueil` is stripped."""
    errors: dict[str, list[str]] = {}
    if message := publics_error(data.get("publics") or []):
        errors["publics"] = [message]
    expression = data.get("horaires_accueil")
    if expression:
        if message := hours_error(expression):
            errors["horaires_accueil"] = [message]
        else:
            data["horaires_accueil"] = expression.strip()
    errors.update(text_limit_errors(data))  # the lengths d·i's models leave open
    if (data.get("volume_horaire_hebdomadaire") or 0) < 0:
        errors["volume_horaire_hebdomadaire"] = [POSITIVE]
    if data.get("nombre_semaines") is not None and data["nombre_semaines"] < 1:
        errors["nombre_semaines"] = [AT_LEAST_ONE]
    return errors


def Text(name: str, *, min_chars: int = 0, **kw):
    """A free-text field with its limit from TEXT_LIMITS."""
    validators = [MaxChars(TEXT_LIMITS[name])]
    if min_chars:
        validators.insert(0, validate.Length(min=min_chars, error=f"{min_chars} caractères au moins"))
    return Str(validate=validators, **kw)


def Url(**kw):
    return fields.Url(
        error_messages=_m(invalid="adresse web invalide (https://…)"), allow_none=True,
        validate=MaxChars(URL_MAX), **kw
    )


# [0-9], not \d: \d also matches the digits of other scripts ("٠٢٤٠٨").
INSEE_COMMUNE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})\Z")
CODE_POSTAL = re.compile(r"^[0-9]{5}\Z")
SIRET = re.compile(r"^[0-9]{14}\Z")

# Numbers typed in a form or a query string: ASCII digits only. str.isdigit() also
# accepts "²" or "٣" (which int() then refuses or reads), float() "nan", "1_000".
_ASCII_INT = re.compile(r"[0-9]{1,18}")
_ASCII_DECIMAL = re.compile(r"[+-]?[0-9]{1,15}(?:[.,][0-9]{1,15})?")


def parse_int(raw) -> int | None:
    """The non-negative integer written in `raw` (ASCII digits, surrounding spaces
    ignored), or None when `raw` is anything else. Callers refuse None by field name."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw if raw >= 0 else None
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    return int(raw) if _ASCII_INT.fullmatch(raw) else None


def parse_decimal(raw) -> float | None:
    """The decimal number written in `raw` ("12", "-3,5", "49.56"), or None."""
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    return float(raw.replace(",", ".")) if _ASCII_DECIMAL.fullmatch(raw) else None

# Bounding boxes (lon_min, lat_min, lon_max, lat_max) of metropolitan France with
# Corsica, and of the overseas départements and collectivities.
FRANCE_BOXES = [
    (-5.5, 41.2, 9.8, 51.2),  # métropole et Corse
    (-61.9, 15.8, -60.9, 16.6),  # Guadeloupe
    (-61.3, 14.3, -60.7, 14.9),  # Martinique
    (-54.7, 2.0, -51.5, 5.9),  # Guyane
    (55.1, -21.5, 55.9, -20.8),  # La Réunion
    (44.9, -13.1, 45.4, -12.5),  # Mayotte
    (-56.5, 46.7, -56.1, 47.2),  # Saint-Pierre-et-Miquelon
    (-63.2, 17.8, -62.7, 18.2),  # Saint-Martin, Saint-Barthélemy
]


def in_france(lon: float, lat: float) -> bool:
    return any(a <= lon <= c and b <= lat <= d for a, b, c, d in FRANCE_BOXES)


def _check_codes(values, known: dict[str, str], what: str, feminine: bool = False) -> None:
    unknown = [v for v in values if v not in known]
    if unknown:
        ending = ("e" if feminine else "") + ("s" if len(unknown) > 1 else "")
        raise ValidationError(f"{what} inconnu{ending} : {', '.join(unknown)}")


class PlaceMixin(Schema):
    commune = Text("commune", allow_none=True)
    code_postal = Str(allow_none=True, validate=validate.Regexp(CODE_POSTAL, error="code postal invalide (5 chiffres)"))
    code_insee = Str(allow_none=True, validate=validate.Regexp(INSEE_COMMUNE, error="code INSEE de commune invalide (5 caractères, ex. 02168)"))
    adresse = Text("adresse", allow_none=True)
    complement_adresse = Text("complement_adresse", allow_none=True)
    longitude = fields.Float(allow_none=True, error_messages=_m(invalid="nombre attendu"))
    latitude = fields.Float(allow_none=True, error_messages=_m(invalid="nombre attendu"))
    telephone = Text("telephone", allow_none=True)
    courriel = fields.Email(allow_none=True, error_messages=_m(invalid="adresse électronique invalide"),
                            validate=MaxChars(TEXT_LIMITS["courriel"]))
    horaires_accueil = Text("horaires_accueil", allow_none=True)

    @validates("horaires_accueil")
    def _hours(self, value, **kwargs):
        if value and (message := hours_error(value)):
            raise ValidationError(message)

    @validates_schema
    def _point(self, data, **kwargs):
        lon, lat = data.get("longitude"), data.get("latitude")
        if (lon is None) != (lat is None):
            field = "latitude" if lat is None else "longitude"
            raise ValidationError("longitude et latitude vont ensemble", field)
        if lon is not None and not in_france(lon, lat):
            raise ValidationError(
                f"le point ({lon}, {lat}) est hors de France", "longitude"
            )


class StructureInput(PlaceMixin):
    class Meta:
        unknown = EXCLUDE

    nom = Text("nom", min_chars=3, required=True)
    description = Text("description", allow_none=True)
    siret = Str(allow_none=True, validate=validate.Regexp(SIRET, error="SIRET invalide (14 chiffres)"))
    lien_source = Url()
    site_web = Url()
    accessibilite_lieu = Url()
    date_maj = fields.Date(allow_none=True, error_messages=_m(invalid="date invalide (AAAA-MM-JJ)"))
    reseaux_porteurs = Codes(load_default=list)

    @validates("reseaux_porteurs")
    def _reseaux(self, value, **kwargs):
        _check_codes(value, vocabulary.reseaux_porteurs(), "réseau porteur")


class ServiceInput(PlaceMixin):
    class Meta:
        unknown = EXCLUDE

    nom = Text("nom", min_chars=3, required=True)
    description = Text("description", allow_none=True)
    lien_source = Url()
    date_maj = fields.Date(allow_none=True, error_messages=_m(invalid="date invalide (AAAA-MM-JJ)"))
    type = Str(allow_none=True)
    thematiques = Codes(load_default=list)
    frais = Str(allow_none=True)
    frais_precisions = Text("frais_precisions", allow_none=True)
    publics = Codes(load_default=list)
    publics_precisions = Text("publics_precisions", allow_none=True)
    conditions_acces = Text("conditions_acces", allow_none=True)
    modes_accueil = Codes(load_default=list)
    zone_eligibilite = Codes(load_default=list)
    contact_nom_prenom = Text("contact_nom_prenom", allow_none=True)
    lien_mobilisation = Url()
    modes_mobilisation = Codes(load_default=list)
    mobilisable_par = Codes(load_default=list)
    mobilisation_precisions = Text("mobilisation_precisions", allow_none=True)
    volume_horaire_hebdomadaire = fields.Float(allow_none=True, validate=validate.Range(min=0, error=POSITIVE), error_messages=_m(invalid="nombre attendu"))
    nombre_semaines = fields.Integer(allow_none=True, validate=validate.Range(min=1, error=AT_LEAST_ONE), error_messages=_m(invalid="nombre entier attendu"))
    message_temporaire = Text("message_temporaire", allow_none=True)
    message_debut = fields.Date(allow_none=True, error_messages=_m(invalid="date invalide (AAAA-MM-JJ)"))
    message_fin = fields.Date(allow_none=True, error_messages=_m(invalid="date invalide (AAAA-MM-JJ)"))
    frequence_maj_jours = fields.Integer(load_default=180, validate=validate.Range(min=7, max=730, error="entre 7 et 730 jours"), error_messages=_m(invalid="nombre entier attendu"))

    @validates_schema
    def _message_dates(self, data, **kwargs):
        start, end = data.get("message_debut"), data.get("message_fin")
        if start and end and end < start:
            raise ValidationError("la fin du message précède son début", "message_fin")

    @validates("thematiques")
    def _thematiques(self, value, **kwargs):
        _check_codes(value, vocabulary.thematiques(), "thématique", feminine=True)

    @validates("publics")
    def _publics(self, value, **kwargs):
        _check_codes(value, vocabulary.publics(), "public")
        if message := publics_error(value):
            raise ValidationError(message)

    @validates("type")
    def _type(self, value, **kwargs):
        if value:
            _check_codes([value], vocabulary.types(), "type de service")

    @validates("frais")
    def _frais(self, value, **kwargs):
        if value:
            _check_codes([value], vocabulary.frais(), "frais")

    @validates("modes_accueil")
    def _modes_accueil(self, value, **kwargs):
        _check_codes(value, vocabulary.modes_accueil(), "mode d'accueil")

    @validates("modes_mobilisation")
    def _modes_mobilisation(self, value, **kwargs):
        _check_codes(value, vocabulary.modes_mobilisation(), "mode de mobilisation")

    @validates("mobilisable_par")
    def _mobilisable_par(self, value, **kwargs):
        _check_codes(value, vocabulary.mobilisable_par(), "valeur")

    @validates("zone_eligibilite")
    def _zone(self, value, **kwargs):
        from geo.errors import ZoneError
        from geo.zones import kind_of

        for code in value:
            try:
                kind_of(code)
            except ZoneError as exc:
                raise ValidationError(str(exc)) from exc
