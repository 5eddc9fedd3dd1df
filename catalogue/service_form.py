"""The offer form: from the posted fields (plain HTML, no JavaScript needed) to the
data that catalogue.writes validates (marshmallow, catalogue.schemas), and back.

What the form adds to the schema is only what a person types differently from the
stored codes: the zone as names or codes, the commune as a name, the opening hours
as rows (day range + times) turned into OpenStreetMap syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from catalogue import vocabulary
from catalogue.models import Service
from catalogue.schemas import parse_decimal, parse_int
from geo.zone_input import resolve_place_commune, resolve_zone, zone_words

if TYPE_CHECKING:  # the posted form (web/backoffice/routes.py passes request.form)
    from werkzeug.datastructures import MultiDict

TEXT_FIELDS = [
    "nom", "description", "frais_precisions", "publics_precisions", "conditions_acces",
    "contact_nom_prenom", "telephone", "courriel", "lien_mobilisation", "mobilisation_precisions",
    "adresse", "complement_adresse", "lien_source",
]
CHOICE_FIELDS = ["type", "frais"]
LIST_FIELDS = ["thematiques", "publics", "modes_accueil", "modes_mobilisation", "mobilisable_par"]
NUMBER_FIELDS = ["volume_horaire_hebdomadaire", "nombre_semaines", "frequence_maj_jours"]

FREQUENCIES = [
    (30, "Tous les mois"),
    (90, "Tous les trois mois"),
    (180, "Tous les six mois"),
    (365, "Tous les ans"),
]
DAYS = [("Mo", "lundi"), ("Tu", "mardi"), ("We", "mercredi"), ("Th", "jeudi"), ("Fr", "vendredi"),
        ("Sa", "samedi"), ("Su", "dimanche"), ("PH", "jours fériés")]
DAY_CODES = [d for d, _ in DAYS]
HOURS_ROWS = 6
_RANGE = re.compile(r"^([01]?\d|2[0-4])[:h]([0-5]\d)?\s*-\s*([01]?\d|2[0-4])[:h]([0-5]\d)?$")


@dataclass
class HoursRow:
    start: str = ""
    end: str = ""
    times: str = ""  # "09:00-12:00, 14:00-17:00" or "fermé"


@dataclass
class Parsed:
    """What the form gave: `data` for catalogue.writes, the form's own errors, and
    what to show back."""

    data: dict = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    shown: dict = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)


# ----------------------------------------------------------------- hours

def _time(h: str, m: str | None) -> str:
    return f"{int(h):02d}:{m or '00'}"


def rows_to_osm(rows: list[HoursRow]) -> tuple[str, dict[int, str]]:
    """OSM expression of the rows, and errors by row number (1-based)."""
    rules, errors = [], {}
    for n, row in enumerate(rows, start=1):
        if not (row.start or row.end or row.times.strip()):
            continue
        if not row.start:
            errors[n] = "choisissez le premier jour"
            continue
        if row.end and row.start != "PH" and row.end != "PH":
            if DAY_CODES.index(row.end) < DAY_CODES.index(row.start):
                errors[n] = "le dernier jour vient avant le premier"
                continue
        days = row.start if not row.end or row.end == row.start or row.start == "PH" else f"{row.start}-{row.end}"
        times = row.times.strip().lower()
        if times in ("fermé", "ferme", "off", "closed"):
            rules.append(f"{days} off")
            continue
        if not times:
            errors[n] = "indiquez les heures (ex. 09:00-12:00, 14:00-17:00) ou « fermé »"
            continue
        ranges = []
        for piece in re.split(r"[,;]| et ", times):
            piece = piece.strip()
            if not piece:
                continue
            found = _RANGE.match(piece)
            if not found:
                errors[n] = f"plage horaire illisible : « {piece} » (attendu : 09:00-12:00)"
                break
            a, b = _time(found.group(1), found.group(2)), _time(found.group(3), found.group(4))
            if b <= a:
                errors[n] = f"la plage {a}-{b} finit avant de commencer"
                break
            ranges.append(f"{a}-{b}")
        else:
            if ranges:
                rules.append(f"{days} {','.join(ranges)}")
    return "; ".join(rules), errors


_RULE = re.compile(r"^(Mo|Tu|We|Th|Fr|Sa|Su|PH)(?:-(Mo|Tu|We|Th|Fr|Sa|Su))?\s+(.+)$")


def osm_to_rows(expression: str | None) -> list[HoursRow] | None:
    """Rows of a simple expression (what rows_to_osm writes); None if it is not one."""
    if not expression or not expression.strip():
        return []
    rows = []
    for rule in (r.strip() for r in expression.split(";")):
        if not rule:
            continue
        found = _RULE.match(rule)
        if not found:
            return None
        start, end, times = found.groups()
        if times.strip() == "off":
            times = "fermé"
        elif not re.match(r"^\d{2}:\d{2}-\d{2}:\d{2}(,\d{2}:\d{2}-\d{2}:\d{2})*$", times.strip()):
            return None
        else:
            times = ", ".join(times.strip().split(","))
        rows.append(HoursRow(start, end or "", times))
    return rows


def hours_rows_from_form(form: MultiDict) -> list[HoursRow]:
    rows = []
    for n in range(1, HOURS_ROWS + 1):
        start = form.get(f"horaires-{n}-debut", "")
        end = form.get(f"horaires-{n}-fin", "")
        rows.append(HoursRow(
            start if start in DAY_CODES else "",
            end if end in DAY_CODES else "",
            (form.get(f"horaires-{n}-heures") or "")[:200],
        ))
    return rows


def padded(rows: list[HoursRow]) -> list[HoursRow]:
    return (rows + [HoursRow() for _ in range(HOURS_ROWS)])[:max(HOURS_ROWS, len(rows))]


# ----------------------------------------------------------------- zone and commune

def commune_words(service: Service | None) -> str:
    if service is None or not service.code_insee:
        return service.commune or "" if service is not None else ""
    return f"{service.commune} ({service.code_insee})"


# ----------------------------------------------------------------- the whole form

def _none_if_blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _number(p: Parsed, form: MultiDict, name: str, label: str, integer: bool) -> None:
    raw = (form.get(name) or "").strip()
    if not raw:
        if name != "frequence_maj_jours":
            p.data[name] = None
        return
    value = parse_int(raw) if integer else parse_decimal(raw)
    if value is None:
        p.error(name, f"{label} : {'nombre entier' if integer else 'nombre'} attendu, pas « {raw[:30]} »")
    else:
        p.data[name] = value


def parse(session: Session, form: MultiDict, departement_code: str | None, service: Service | None) -> Parsed:
    """The posted form as data for catalogue.writes (validated there)."""
    p = Parsed()
    for name in TEXT_FIELDS:
        p.data[name] = _none_if_blank(form.get(name))
    for name in CHOICE_FIELDS:
        p.data[name] = _none_if_blank(form.get(name))
    for name in LIST_FIELDS:
        p.data[name] = list(dict.fromkeys(v for v in form.getlist(name) if v))
    _number(p, form, "volume_horaire_hebdomadaire", "Volume horaire hebdomadaire", integer=False)
    _number(p, form, "nombre_semaines", "Nombre de semaines", integer=True)
    _number(p, form, "frequence_maj_jours", "Fréquence de mise à jour", integer=True)

    zone_typed = form.get("zone") or ""
    p.shown["zone"] = zone_typed
    codes, errors = resolve_zone(session, zone_typed, departement_code)
    for e in errors:
        p.error("zone_eligibilite", e)
    p.data["zone_eligibilite"] = codes

    commune_typed = form.get("commune") or ""
    p.shown["commune"] = commune_typed
    place, error = resolve_place_commune(session, commune_typed, departement_code)
    if error:
        p.error("commune", error)
    p.data.update(place)

    # Hours: the expert field wins when the person changed it; else the rows.
    rows = hours_rows_from_form(form)
    p.shown["hours_rows"] = rows
    expression, row_errors = rows_to_osm(rows)
    for n, message in row_errors.items():
        p.error("horaires_accueil", f"ligne {n} : {message}")
    raw = (form.get("horaires_brut") or "").strip()
    raw_before = (form.get("horaires_origine") or "").strip()
    p.shown["horaires_brut"] = raw
    if raw != raw_before:
        p.data["horaires_accueil"] = raw or None
    elif expression:
        p.data["horaires_accueil"] = expression
    else:
        p.data["horaires_accueil"] = raw or None

    # The point: only when moved (map or fields); else located from the address.
    lat, lon = (form.get("latitude") or "").strip(), (form.get("longitude") or "").strip()
    p.shown["latitude"], p.shown["longitude"] = lat, lon
    moved = (lat, lon) != ((form.get("latitude_origine") or "").strip(), (form.get("longitude_origine") or "").strip())
    p.shown["point_moved"] = False
    p.shown["relocate"] = moved and not lat and not lon  # emptied: placed again from the address
    if moved and bool(lat) != bool(lon):
        p.error("latitude", "longitude et latitude vont ensemble : indiquez les deux, ou aucune")
    elif moved and lat and lon:
        try:
            p.data["latitude"], p.data["longitude"] = float(lat.replace(",", ".")), float(lon.replace(",", "."))
            p.shown["point_moved"] = True
        except ValueError:
            p.error("latitude", "latitude et longitude : nombres décimaux attendus (ex. 49.5641 et 3.6244)")
    return p


def values_of(session: Session, service: Service | None, point: tuple[float, float] | None) -> dict:
    """What the form shows for an existing service (or an empty one)."""
    values = {name: (getattr(service, name) if service is not None else None) for name in
              TEXT_FIELDS + CHOICE_FIELDS + LIST_FIELDS + NUMBER_FIELDS}
    for name in LIST_FIELDS:
        values[name] = list(values[name] or [])
    if service is None:
        values["frequence_maj_jours"] = 180
    values["zone"] = zone_words(session, list(service.zone_eligibilite or [])) if service is not None else ""
    values["commune"] = commune_words(service)
    expression = service.horaires_accueil if service is not None else None
    rows = osm_to_rows(expression)
    values["hours_rows"] = padded(rows or [])
    values["horaires_brut"] = expression or ""
    values["horaires_origine"] = expression or ""
    values["hours_complex"] = rows is None
    lat = f"{point[1]:.6f}" if point else ""
    lon = f"{point[0]:.6f}" if point else ""
    values.update(latitude=lat, longitude=lon, latitude_origine=lat, longitude_origine=lon)
    return values


def values_from_post(form: MultiDict, parsed: Parsed) -> dict:
    """The form shown back after an error: what the person typed."""
    values = {name: form.get(name, "") for name in TEXT_FIELDS + CHOICE_FIELDS + NUMBER_FIELDS}
    for name in LIST_FIELDS:
        values[name] = form.getlist(name)
    values["zone"] = parsed.shown.get("zone", "")
    values["commune"] = parsed.shown.get("commune", "")
    values["hours_rows"] = padded([r for r in parsed.shown.get("hours_rows", []) if r.start or r.end or r.times])
    values["horaires_brut"] = parsed.shown.get("horaires_brut", "")
    values["horaires_origine"] = form.get("horaires_origine", "")
    values["hours_complex"] = False
    values["latitude"] = parsed.shown.get("latitude", "")
    values["longitude"] = parsed.shown.get("longitude", "")
    values["latitude_origine"] = form.get("latitude_origine", "")
    values["longitude_origine"] = form.get("longitude_origine", "")
    return values


def spie_thematique_groups() -> list[dict]:
    labels = vocabulary.thematiques()
    return [
        {"code": g.code, "label": g.label,
         "thematiques": [(t, labels[t]) for t in vocabulary.expand_thematiques([g.code])]}
        for g in vocabulary.spie_groups()
    ]
