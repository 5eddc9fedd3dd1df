"""Soliguide places (the JSON of its search API) → one structure per place and one
service per entry of `services_all`: categories → v1 thematiques, publics,
modalities → modes de mobilisation and frais, `newhours` (+ temporary closures)
→ OpenStreetMap opening_hours."""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE, Item, blank_to_none
from importers.sources import soliguide_mapping as m

SOURCE = "soliguide"
DAYS = [("monday", "Mo"), ("tuesday", "Tu"), ("wednesday", "We"), ("thursday", "Th"),
        ("friday", "Fr"), ("saturday", "Sa"), ("sunday", "Su")]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@cache
def _categories() -> dict:
    raw = json.loads(resources.files("importers").joinpath("soliguide_categories.json").read_text())
    by_id = {c["id"]: c for c in raw["categories"]}
    legacy = {str(x["legacy_id"]): c["id"] for c in raw["categories"] for x in c.get("legacy_ids", [])}
    return {"by_id": by_id, "legacy": legacy}


def category_id(value) -> str | None:
    if value is None:
        return None
    value = str(value)
    cats = _categories()
    return value if value in cats["by_id"] else cats["legacy"].get(value, value)


def _hhmm(value) -> str:
    value = int(value)
    if value == 2400:
        return "24:00"
    return f"{value // 100:02d}:{value % 100:02d}"


def _date_osm(iso: str) -> str | None:
    found = re.match(r"^(\d{4})-(\d{2})-(\d{2})", iso or "")
    if not found:
        return None
    y, mo, d = found.groups()
    return f"{y} {MONTHS[int(mo) - 1]} {int(d):02d}"


def opening_hours(hours: dict | None, closure: dict | None = None) -> str | None:
    """Soliguide `newhours` (days with timeslots as HHMM integers) → OSM
    opening_hours, with public holidays off when closed then, and an active
    temporary closure as a dated `off` rule."""
    if not hours:
        return None
    rules: list[str] = []
    groups: list[tuple[list[str], str]] = []
    for key, abbr in DAYS:
        day = hours.get(key) or {}
        slots = day.get("timeslot") or []
        if not day.get("open") or not slots:
            continue
        spans = ",".join(f"{_hhmm(s['start'])}-{_hhmm(s['end'])}" for s in slots
                         if s.get("start") is not None and s.get("end") is not None)
        if not spans:
            continue
        if groups and groups[-1][1] == spans and _next(groups[-1][0][-1]) == abbr:
            groups[-1][0].append(abbr)
        else:
            groups.append(([abbr], spans))
    for days, spans in groups:
        label = days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}"
        rules.append(f"{label} {spans}")
    if not rules:
        return None
    if hours.get("closedHolidays") == "CLOSED":
        rules.append("PH off")
    if closure and closure.get("actif"):
        start, end = _date_osm(closure.get("dateDebut")), _date_osm(closure.get("dateFin"))
        if start and end:
            rules.append(f"{start}-{end} off")
        elif start:
            rules.append(f"{start}+ off")  # closed until further notice
    return "; ".join(rules)


def _next(abbr: str) -> str | None:
    names = [a for _, a in DAYS]
    i = names.index(abbr)
    return names[i + 1] if i + 1 < len(names) else None


def publics(p: dict | None) -> tuple[list[str], str | None]:
    """v1 publics and precisions from Soliguide publics."""
    if not p:
        return ["tous-publics"], None
    precisions = blank_to_none(_strip_html(p.get("description")))
    accueil = p.get("accueil", 0)
    if accueil in (0, 1, None):  # unconditional (possibly adapted to some publics)
        return ["tous-publics"], precisions
    found: list[str] = []
    gender = p.get("gender") or []
    if gender == ["women"]:
        found.append("femmes")
    for code in p.get("administrative") or []:
        if code in m.ADMINISTRATIVE:
            found.append(m.ADMINISTRATIVE[code])
    for code in p.get("familialle") or []:
        if code in m.FAMILY:
            found.append(m.FAMILY[code])
    for code in p.get("other") or []:
        if code in m.OTHER:
            found.append(m.OTHER[code])
    age = p.get("age") or {}
    if (age.get("max") or 99) <= 25:
        found.append("jeunes")
    if (age.get("min") or 0) >= 60:
        found.append("seniors")
    return sorted(set(found)), precisions


def modalities(mod: dict | None) -> dict:
    mod = mod or {}
    def checked(key):
        return bool((mod.get(key) or {}).get("checked"))
    def precisions(key):
        return blank_to_none((mod.get(key) or {}).get("precisions"))
    modes, par, conditions = [], ["professionnels", "usagers"], []
    if mod.get("inconditionnel", True) and not checked("appointment"):
        modes.append("se-presenter")
    if checked("appointment"):
        modes.append("telephoner")
        conditions.append("Sur rendez-vous" + (f" : {precisions('appointment')}" if precisions("appointment") else "."))
    if checked("inscription"):
        conditions.append("Sur inscription" + (f" : {precisions('inscription')}" if precisions("inscription") else "."))
    if checked("orientation"):
        par = ["professionnels"]
        conditions.append("Sur orientation" + (f" : {precisions('orientation')}" if precisions("orientation") else "."))
    if blank_to_none(mod.get("other")):
        conditions.append(str(mod["other"]).strip())
    return {
        "modes_mobilisation": modes,
        "mobilisable_par": par,
        "frais": "payant" if checked("price") else "gratuit",
        "frais_precisions": precisions("price"),
        "conditions_acces": "\n".join(conditions) or None,
    }


def _strip_html(value) -> str | None:
    if not value:
        return None
    text = re.sub(r"<br\s*/?>|</p>", "\n", str(value))
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"&nbsp;", " ", text).replace("&amp;", "&").replace("&#39;", "'")
    return re.sub(r"\n{3,}", "\n\n", text).strip() or None


def _place(place: dict) -> dict:
    position = place.get("position") or {}
    coords = ((position.get("location") or {}).get("coordinates")) or [None, None]
    entity = place.get("entity") or {}
    phones = entity.get("phones") or []
    return {
        "commune": blank_to_none(position.get("city")),
        "code_postal": blank_to_none(position.get("postalCode")),
        "code_insee": blank_to_none(position.get("cityCode")),
        "adresse": blank_to_none(position.get("address")),
        "complement_adresse": blank_to_none(position.get("additionalInformation")),
        "longitude": coords[0] if len(coords) > 1 else None,
        "latitude": coords[1] if len(coords) > 1 else None,
        "telephone": blank_to_none((phones[0] or {}).get("phoneNumber")) if phones else None,
        "courriel": blank_to_none(entity.get("mail")),
    }


def service_source_id(place_id: str, service_id: str) -> str:
    """Our id of a Soliguide service: its place's id, then its own. The national
    base's feed (importers.sources.datainclusion_api) builds the same id."""
    return f"{place_id}--{service_id}"


def normalise(record: RawRecord, options: dict | None = None) -> list[Item]:
    place = record.data
    place_id = str(place.get("lieu_id") or place.get("_id") or "")
    closure = ((place.get("tempInfos") or {}).get("closure")) or None
    hours = opening_hours(place.get("newhours"), closure)
    where = _place(place)
    date_maj = str(place.get("updatedAt") or "")[:10] or None
    link = f"https://soliguide.fr/fr/fiche/{place['seo_url']}" if place.get("seo_url") else None
    site = blank_to_none((place.get("entity") or {}).get("website"))
    structure = Item(
        kind=STRUCTURE, source=SOURCE, source_id=place_id, raw=place,
        data={"nom": blank_to_none(place.get("name")), "description": _strip_html(place.get("description")),
              "lien_source": link, "site_web": site if site and site.startswith("http") else None,
              "date_maj": date_maj, "horaires_accueil": hours, **where},
    )
    items = [structure]
    cats = _categories()["by_id"]
    for index, svc in enumerate(place.get("services_all") or [], start=1):
        warnings: list[str] = []
        category = category_id(svc.get("category"))
        thematiques = m.CATEGORIES.get(category)
        if thematiques is None:
            warnings.append(f"catégorie Soliguide sans équivalent v1 : {category}")
            thematiques = []
        label = (cats.get(category) or {}).get("label_fr") or str(category or "Service")
        pub, pub_precisions = publics(svc.get("publics") if svc.get("differentPublics") else place.get("publics"))
        mod = modalities(svc.get("modalities") if svc.get("differentModalities") else place.get("modalities"))
        svc_hours = opening_hours(svc.get("hours"), svc.get("close") or closure) if svc.get("differentHours") else hours
        service_id = str(svc.get("serviceObjectId") or svc.get("_id") or index)
        items.append(Item(
            kind=SERVICE, source=SOURCE, source_id=service_source_id(place_id, service_id), raw=svc,
            structure_key=(SOURCE, place_id), warnings=warnings,
            data={
                "nom": blank_to_none(svc.get("name")) or label,
                "description": _strip_html(svc.get("description")) or _strip_html(place.get("description")),
                "lien_source": link, "date_maj": date_maj, "thematiques": list(thematiques),
                "publics": pub, "publics_precisions": pub_precisions,
                "modes_accueil": ["en-presentiel"], "horaires_accueil": svc_hours,
                **mod, **where,
            },
        ))
    return items
