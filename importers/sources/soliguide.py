"""Soliguide places (the JSON of its search API) → one structure per place and one
service per entry of `services_all`: categories → v1 thematiques, publics,
modalities → modes de mobilisation and frais, `newhours` (+ temporary closures and
temporary hours) → OpenStreetMap opening_hours, `tempInfos.message` → the
service's dated message, `status` + `visibility` → the catalogue's status. A
mobile itinerary (`placeType` PARCOURS_MOBILE) gives one service per entry of
`services_all` and crossing point of `parcours`, each at its point with its hours
(docs/import-mapping.md)."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from importlib import resources

from importers.readers import RawRecord
from importers.records import SERVICE, STRUCTURE, Item, blank_to_none
from importers.sources import soliguide_mapping as m

SOURCE = "soliguide"
DAYS = [("monday", "Mo"), ("tuesday", "Tu"), ("wednesday", "We"), ("thursday", "Th"),
        ("friday", "Fr"), ("saturday", "Sa"), ("sunday", "Su")]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAY_WORDS = dict(zip([k for k, _ in DAYS], ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
                     strict=True))
MONTH_WORDS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
               "octobre", "novembre", "décembre"]
# Soliguide's place status (PlaceStatus) → the catalogue's. Drafts (not yet
# validated by Soliguide) and places put offline are kept, never shown; places
# closed for good are archived.
STATUSES = {"ONLINE": "publie", "DRAFT": "brouillon", "OFFLINE": "brouillon", "PERMANENTLY_CLOSED": "archive"}
STATUS_WARNINGS = {
    "DRAFT": "lieu Soliguide en brouillon (DRAFT) : gardé non publié",
    "OFFLINE": "lieu Soliguide hors ligne (OFFLINE) : gardé non publié",
    "PERMANENTLY_CLOSED": "lieu Soliguide fermé définitivement (PERMANENTLY_CLOSED) : archivé",
}
PRO_WARNING = "lieu Soliguide réservé aux professionnels (visibility PRO) : gardé non publié"
ITINERARY = "PARCOURS_MOBILE"


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


def _date_osm(iso) -> str | None:
    day = _day(iso)
    return f"{day.year} {MONTHS[day.month - 1]} {day.day:02d}" if day else None


def _day(iso) -> date | None:
    found = re.match(r"^(\d{4})-(\d{2})-(\d{2})", str(iso or ""))
    if not found:
        return None
    try:
        return date(*(int(g) for g in found.groups()))
    except ValueError:
        return None


def current(info: dict | None, today: date | None = None) -> bool:
    """A temporary information (closure, hours, message) in force or to come: a
    start date, and no end or an end not past. Soliguide's own `actif` says only
    "within 15 days" and is recomputed by a nightly job: the dates decide."""
    if not isinstance(info, dict):
        return False
    start, end = _day(info.get("dateDebut")), _day(info.get("dateFin"))
    if start is None or (end is not None and end < start):  # no dates, or backwards: ignored
        return False
    return end is None or end >= (today or date.today())


def _range(info: dict) -> str | None:
    """OSM dates of a temporary information: "2031 Jul 14-2031 Aug 18", or
    "2031 Jul 14+" until further notice."""
    start, end = _date_osm(info.get("dateDebut")), _date_osm(info.get("dateFin"))
    if start and end:
        return f"{start}-{end}"
    return f"{start}+" if start else None


def _groups(hours: dict) -> list[tuple[list[str], str]]:
    """Days with the same timeslots, consecutive ones grouped: (["Mo", "Tu"], "09:00-12:00")."""
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
    return groups


def _rules(hours: dict | None, prefix: str = "") -> list[str]:
    rules = []
    for days, spans in _groups(hours or {}):
        label = days[0] if len(days) == 1 else f"{days[0]}-{days[-1]}"
        rules.append(f"{prefix}{label} {spans}")
    return rules


def opening_hours(hours: dict | None, closure: dict | None = None, *, closures: list | None = None,
                  temporary: dict | None = None, today: date | None = None) -> str | None:
    """Soliguide opening hours (`newhours`, a service's `hours` or a crossing
    point's: days with timeslots as HHMM integers) → OSM opening_hours: public
    holidays off when closed then; temporary hours (tempInfos.hours) in force or to
    come replace the hours for their dates (those dates off, then their own days);
    each closure in force or to come (tempInfos.closure, a service's `close`) a
    dated `off` rule."""
    rules = _rules(hours)
    if temporary and current(temporary, today) and _range(temporary):
        dates = _range(temporary)
        rules += [f"{dates} off", *_rules(temporary.get("hours"), prefix=f"{dates} ")]
    if not rules:
        return None
    if hours and hours.get("closedHolidays") == "CLOSED":
        rules.append("PH off")
    for info in [closure, *(closures or [])]:
        if info and current(info, today) and _range(info):
            rules.append(f"{_range(info)} off")
    if all(rule.endswith(" off") for rule in rules):
        return None  # closures alone say nothing of when the place is open
    return "; ".join(rules)


def hours_words(hours: dict | None) -> str | None:
    """Soliguide opening hours in French words: "lundi et mardi 9 h 00–12 h 00"."""
    pieces = []
    names = {abbr: DAY_WORDS[key] for key, abbr in DAYS}
    for days, spans in _groups(hours or {}):
        label = names[days[0]] if len(days) == 1 else f"du {names[days[0]]} au {names[days[-1]]}"
        times = ", ".join(span.replace(":", " h ").replace("-", "–") for span in spans.split(","))
        pieces.append(f"{label} {times}")
    return " ; ".join(pieces) or None


def _date_words(iso) -> str | None:
    day = _day(iso)
    return f"{day.day} {MONTH_WORDS[day.month - 1]} {day.year}" if day else None


def status(place: dict) -> tuple[str, str, str | None]:
    """(catalogue status, the source's words "STATUS/VISIBILITY", warning). A place
    without status is taken as ONLINE (the public search API serves those only)."""
    given = str(place.get("status") or "ONLINE").strip().upper()
    visibility = str(place.get("visibility") or "ALL").strip().upper()
    words = f"{given}/{visibility}"
    if given not in STATUSES:
        return "brouillon", words, f"statut Soliguide inconnu ({given}) : gardé non publié"
    if given == "ONLINE" and visibility != "ALL":
        return "brouillon", words, PRO_WARNING
    return STATUSES[given], words, STATUS_WARNINGS.get(given)


def message(temp: dict, today: date | None = None) -> dict:
    """The service's dated message: tempInfos.message in force or to come, else the
    reason of a closure in force or to come."""
    info, title = temp.get("message"), None
    if not current(info, today):
        info, title = temp.get("closure"), "Fermeture temporaire"
        if not current(info, today):
            return {"message_temporaire": None, "message_debut": None, "message_fin": None}
    title = blank_to_none(info.get("name")) or title
    body = _strip_html(info.get("description"))
    text = " : ".join(t for t in (title, body) if t) or None
    start, end = _day(info.get("dateDebut")), _day(info.get("dateFin"))
    return {"message_temporaire": text[:2000] if text else None,
            "message_debut": start.isoformat() if text else None,
            "message_fin": end.isoformat() if text and end else None}


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


def _position(position: dict | None) -> dict:
    """A Soliguide position → the catalogue's place fields. `cityCode` is read as
    the INSEE code; when it is a postal code (often), the place rule
    (catalogue.places) finds the commune from the coordinates."""
    position = position or {}
    coords = ((position.get("location") or {}).get("coordinates")) or [None, None]
    if coords[:2] == [0, 0]:  # Soliguide's default for "not placed"
        coords = [None, None]
    return {
        "commune": blank_to_none(position.get("city") or position.get("ville")),
        "code_postal": blank_to_none(position.get("postalCode") or position.get("codePostal")),
        "code_insee": blank_to_none(position.get("cityCode")),
        "adresse": blank_to_none(position.get("address") or position.get("adresse")),
        "complement_adresse": blank_to_none(position.get("additionalInformation")),
        "longitude": coords[0] if len(coords) > 1 else None,
        "latitude": coords[1] if len(coords) > 1 else None,
    }


def _place(place: dict) -> dict:
    entity = place.get("entity") or {}
    phones = entity.get("phones") or []
    position = place.get("position")
    stops = _stops(place)
    if stops and not (position or {}).get("location"):
        position = stops[0].get("position")  # an itinerary: its first crossing point
    return {
        **_position(position),
        "telephone": blank_to_none((phones[0] or {}).get("phoneNumber")) if phones else None,
        "courriel": blank_to_none(entity.get("mail")),
    }


def service_source_id(place_id: str, service_id: str) -> str:
    """Our id of a Soliguide service: its place's id, then its own. The national
    base's feed (importers.sources.datainclusion_api) builds the same id."""
    return f"{place_id}--{service_id}"


def _stops(place: dict) -> list[dict]:
    """The crossing points of a mobile itinerary (none for a fixed place)."""
    if str(place.get("placeType") or "").upper() != ITINERARY:
        return []
    return [p for p in place.get("parcours") or [] if isinstance(p, dict) and p.get("position")]


def _stop_label(stop: dict) -> str:
    position = stop.get("position") or {}
    address, city = blank_to_none(position.get("address")), blank_to_none(position.get("city"))
    if address and city and city.lower() in address.lower():
        return address
    return ", ".join(x for x in (address, city) if x) or "point de passage"


def _itinerary(stops: list[dict]) -> str:
    """The whole itinerary in words, added to the description of each of its services."""
    lines = [f"Service itinérant : {len(stops)} points de passage."]
    for number, stop in enumerate(stops, start=1):
        words = hours_words(stop.get("hours"))
        lines.append(f"{number}. {_stop_label(stop)}" + (f" — {words}" if words else ""))
    return "\n".join(lines)


def normalise(record: RawRecord, options: dict | None = None) -> list[Item]:
    place = record.data
    place_id = str(place.get("lieu_id") or place.get("_id") or "")
    temp = place.get("tempInfos") or {}
    closure = temp.get("closure") or None
    hours = opening_hours(place.get("newhours"), closure, temporary=temp.get("hours"))
    where = _place(place)
    date_maj = str(place.get("updatedAt") or "")[:10] or None
    link = f"https://soliguide.fr/fr/fiche/{place['seo_url']}" if place.get("seo_url") else None
    site = blank_to_none((place.get("entity") or {}).get("website"))
    state, words, state_warning = status(place)
    common = {"status": state, "source_status": words}
    structure = Item(
        kind=STRUCTURE, source=SOURCE, source_id=place_id, raw=place,
        warnings=[state_warning] if state_warning else [], **common,
        data={"nom": blank_to_none(place.get("name")), "description": _strip_html(place.get("description")),
              "lien_source": link, "site_web": site if site and site.startswith("http") else None,
              "date_maj": date_maj, "horaires_accueil": hours, **where},
    )
    items = [structure]
    cats = _categories()["by_id"]
    stops = _stops(place)
    dated = message(temp)
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
        close = svc.get("close") or None
        if svc.get("differentHours"):
            svc_hours = opening_hours(svc.get("hours"), closure, closures=[close])
        else:
            svc_hours = opening_hours(place.get("newhours"), closure, closures=[close], temporary=temp.get("hours"))
        service_id = str(svc.get("serviceObjectId") or svc.get("_id") or index)
        nom = blank_to_none(svc.get("name")) or label
        description = _strip_html(svc.get("description")) or _strip_html(place.get("description"))
        data = {
            "nom": nom, "description": description,
            "lien_source": link, "date_maj": date_maj, "thematiques": list(thematiques),
            "publics": pub, "publics_precisions": pub_precisions,
            "modes_accueil": ["en-presentiel"], "horaires_accueil": svc_hours,
            **mod, **where, **dated,
        }
        if not stops:
            items.append(Item(
                kind=SERVICE, source=SOURCE, source_id=service_source_id(place_id, service_id), raw=svc,
                structure_key=(SOURCE, place_id), warnings=warnings, data=data, **common,
            ))
            continue
        # A mobile itinerary: the service at each crossing point, with its hours.
        route = _itinerary(stops)
        for number, stop in enumerate(stops, start=1):
            stop_hours = opening_hours(stop.get("hours"), closure, closures=[close]) or svc_hours
            items.append(Item(
                kind=SERVICE, source=SOURCE, source_id=f"{place_id}--{service_id}--{number}", raw=svc,
                structure_key=(SOURCE, place_id), warnings=list(warnings), **common,
                data={**data, **_position(stop.get("position")),
                      "nom": _stop_name(nom, stop), "horaires_accueil": stop_hours,
                      "description": "\n\n".join(x for x in (description, _strip_html(stop.get("description")), route)
                                                  if x)},
            ))
    return items


def _stop_name(nom: str, stop: dict) -> str:
    """"Maraude — Place de la République, Millau", at most 150 characters (the
    catalogue's limit for a name)."""
    full = f"{nom} — {_stop_label(stop)}"
    return full if len(full) <= 150 else full[:149].rstrip() + "…"
