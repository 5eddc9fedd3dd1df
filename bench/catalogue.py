"""A benchmark catalogue shaped like the national data·inclusion base, generated
deterministically (same seed, same référentiel → the same bytes).

    .venv/bin/python bench/catalogue.py OUT_DIR [--structures 25000] [--services 100000] [--seed 2026]

writes OUT_DIR/structures.ndjson and OUT_DIR/services.ndjson (data·inclusion v1, one
record a line), as producers send them: each file holds every source. The other
benchmarks call `generate()` (import, search, pages).

The distributions are those measured on the national base (docs/performance.md,
« Le catalogue de référence des mesures »):
- zone d'éligibilité: empty 33 %, département 26 %, EPCI 15 %, région 9 % (written as
  the list of the région's départements, since v1 has no région code that cannot be
  read as a département), commune 9 %, `france` 8 %;
- modes d'accueil: on site 55 %, both 25 %, remote 12 %, unset 8 %;
- frais: gratuit 70 %, payant 12 %, unset 18 %;
- about 2.2 thematiques a service, most of them in one category;
- 20 sources of very different sizes (Zipf-like);
- 6 % of the structures present in two or three sources under slightly different
  names and addresses, the SIRET missing on one side;
- descriptions of 50 to 2,000 characters (median about 400) from a vocabulary of
  real sentences; hours, phones, e-mails and links often missing, phones written in
  the several ways producers write them;
- places drawn by population (a commune's chance is its share of the population).
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# (source, weight): about twenty producers, a few large, many small.
SOURCES = [
    ("dora", 24), ("soliguide", 16), ("france-travail", 10), ("monenfant", 9),
    ("emplois-de-linclusion", 8), ("mes-aides", 6), ("mission-locale", 5),
    ("france-services", 4), ("action-logement", 3), ("agefiph", 2), ("reseau-alpha", 2),
    ("cd35", 2), ("fredo", 1.5), ("ma-boussole-aidants", 1.5), ("odspep", 1.2),
    ("siao", 1), ("carif-oref", 1), ("un-jeune-une-solution", 0.8), ("mediation-numerique", 0.8),
    ("cd72", 0.5),
]

# (kind of structure, reseau porteur or None, share)
KINDS = [
    ("Association {word}", None, 22), ("CCAS de {commune}", "ccas-cias", 10),
    ("Mission locale {du} {commune}", "mission-locale", 6),
    ("France Services {commune}", "france-service", 6),
    ("Agence France Travail {commune}", "france-travail", 5),
    ("Centre social {word}", None, 8), ("Secours populaire – comité de {commune}", "secours-populaire", 4),
    ("Restos du cœur de {commune}", "restos-du-coeur", 4), ("Croix-Rouge française – {commune}", "croix-rouge", 3),
    ("Régie de quartier {word}", None, 3), ("Maison de l'emploi {du} {commune}", None, 3),
    ("Crèche {word}", None, 7), ("Atelier chantier d'insertion {word}", "chantier-ecole", 4),
    ("Auto-école sociale {word}", None, 2), ("Espace numérique {du} {commune}", "conseillers-numeriques", 5),
    ("CIDFF {du} {commune}", "cidff", 2), ("Point d'accès au droit de {commune}", None, 2),
    ("Épicerie solidaire {word}", "banques-alimentaires", 4),
]
WORDS = [
    "Le Lien", "Rebond", "Tremplin", "L'Escale", "Passerelle", "Horizon", "Les Jardins de Cocagne",
    "La Clé", "Solidarité", "Trait d'union", "L'Étape", "Envol", "Les Petits Pas", "Ensemble",
    "La Boussole", "Accueil et partage", "Entraide", "Le Relais", "Cap Avenir", "Les Ateliers du Bocage",
    "Pierre et Lumière", "Renaissance", "Cœur de ville", "Les Trois Rivières", "Arc-en-ciel",
    "L'Olivier", "La Main tendue", "Avenir jeunes", "Le Phare", "Les Amis du quartier",
]
STREETS = [
    "rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "place de la Mairie",
    "rue Pasteur", "boulevard Gambetta", "rue du Général de Gaulle", "rue des Écoles",
    "avenue de la Gare", "rue Jules Ferry", "place du Marché", "rue Émile Zola", "chemin des Près",
]
# Sentences producers write, by category (the first word of a thematique).
SENTENCES = {
    "logement-hebergement": [
        "Accompagnement dans la recherche d'un logement adapté à vos ressources.",
        "Aide à la constitution du dossier de demande de logement social.",
        "Hébergement d'urgence pour les personnes sans solution pour la nuit.",
        "Médiation avec le bailleur en cas d'impayés de loyer.",
    ],
    "mobilite": [
        "Location de scooters et de voitures à tarif solidaire pour se rendre au travail ou en formation.",
        "Préparation au code de la route et heures de conduite financées en partie.",
        "Diagnostic mobilité pour identifier les solutions de transport proches de chez vous.",
        "Réparation de véhicules à prix réduit dans un garage solidaire.",
    ],
    "famille": [
        "Places d'accueil en crèche réservées aux parents en recherche d'emploi.",
        "Garde d'enfants à horaires atypiques pour les parents qui travaillent tôt ou tard.",
        "Soutien à la parentalité et ateliers parents-enfants.",
    ],
    "sante": [
        "Consultations sans avance de frais et orientation vers un médecin traitant.",
        "Écoute et soutien psychologique, sur rendez-vous, en toute confidentialité.",
        "Aide à l'ouverture des droits à la complémentaire santé solidaire.",
    ],
    "numerique": [
        "Ateliers pour apprendre à utiliser un ordinateur, un smartphone et les services en ligne.",
        "Accès libre à des ordinateurs et à une imprimante, avec un conseiller numérique.",
        "Aide pour créer son adresse électronique et son espace France Travail.",
    ],
    "lecture-ecriture-calcul": [
        "Cours de français pour adultes, à l'oral et à l'écrit, en petits groupes.",
        "Remise à niveau en lecture, écriture et calcul pour préparer une formation.",
    ],
    "trouver-un-emploi": [
        "Accompagnement personnalisé vers l'emploi avec un conseiller référent.",
        "Mise en relation avec des employeurs du territoire qui recrutent.",
        "Contrat à durée déterminée d'insertion avec un accompagnement socioprofessionnel.",
    ],
    "preparer-sa-candidature": [
        "Aide à la rédaction du CV et de la lettre de motivation.",
        "Simulations d'entretien d'embauche avec des bénévoles issus de l'entreprise.",
    ],
    "choisir-un-metier": [
        "Découverte des métiers par des immersions en entreprise.",
        "Bilan de compétences et construction d'un projet professionnel.",
    ],
    "se-former": [
        "Formations qualifiantes financées pour les demandeurs d'emploi.",
        "Information sur les aides à la formation et les démarches d'inscription.",
    ],
    "creer-une-entreprise": [
        "Accompagnement des porteurs de projet de création d'entreprise, de l'idée au lancement.",
        "Microcrédit pour créer son activité quand la banque refuse un prêt.",
    ],
    "difficultes-financieres": [
        "Aide à l'élaboration d'un budget et prévention du surendettement.",
        "Aides financières ponctuelles pour faire face à une dépense imprévue.",
    ],
    "difficultes-administratives-ou-juridiques": [
        "Aide aux démarches administratives : CAF, impôts, retraite, titres de séjour.",
        "Permanences juridiques gratuites avec un avocat ou un juriste.",
        "Domiciliation administrative pour recevoir son courrier.",
    ],
    "equipement-et-alimentation": [
        "Colis alimentaires et épicerie solidaire à petits prix.",
        "Vêtements, meubles et électroménager à prix solidaires.",
    ],
    "remobilisation": [
        "Ateliers collectifs pour reprendre confiance en soi et retrouver un rythme.",
        "Activités sportives et culturelles pour sortir de l'isolement.",
    ],
    "souvrir-a-linternational": [
        "Information sur les séjours de mobilité européenne pour les jeunes.",
    ],
}
COMMON = [
    "Sur rendez-vous, du lundi au vendredi.",
    "Accueil sans rendez-vous aux heures d'ouverture.",
    "Orientation par un travailleur social ou un conseiller en insertion.",
    "Les personnes accompagnées sont reçues individuellement puis en atelier collectif.",
    "Le service est ouvert à toute personne résidant sur le territoire, quelle que soit sa situation.",
    "Pièces à fournir : une pièce d'identité et un justificatif de domicile de moins de trois mois.",
    "Les informations échangées restent confidentielles.",
    "Une participation symbolique peut être demandée selon les ressources.",
    "Le délai d'attente est d'environ deux semaines.",
    "Interprétariat possible sur demande.",
    "Le lieu est accessible aux personnes à mobilité réduite.",
]
HOURS = [
    "Mo-Fr 09:00-12:00,14:00-17:00", "Mo-Fr 08:30-12:30", "Tu,Th 14:00-17:30",
    "Mo-Th 09:00-12:00,13:30-17:00; Fr 09:00-12:00", "We 09:00-12:00", "Mo-Sa 10:00-18:00",
    "Mo 14:00-17:00; We 09:00-12:00; Fr 09:00-12:00", "24/7",
]
DATE_DAYS = 730  # updates spread over the last two years


@dataclass(frozen=True)
class Commune:
    code: str
    nom: str
    code_postal: str | None
    epci: str | None
    departement: str
    region: str | None
    lon: float
    lat: float
    population: int


def load_communes(url: str) -> list[Commune]:
    """Every commune of the référentiel with its centre and population."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        rows = c.execute(text(
            "SELECT c.code, c.nom, c.codes_postaux[1], c.epci_code, c.departement_code, d.region_code, "
            "ST_X(c.centre::geometry), ST_Y(c.centre::geometry), coalesce(c.population, 0) "
            "FROM geo_commune c JOIN geo_departement d ON d.code = c.departement_code "
            "WHERE c.type = 'COM' AND c.centre IS NOT NULL ORDER BY c.code"
        )).all()
    engine.dispose()
    return [Commune(*r) for r in rows]


def _weighted(rng: random.Random, cumulative: list[float], items: list):
    return items[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def _cum(weights) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _phone(rng: random.Random, departement: str) -> str | None:
    if rng.random() < 0.35:
        return None
    prefix = {"0": "01", "1": "04", "2": "03", "3": "04", "4": "02", "5": "05", "6": "03",
              "7": "04", "8": "03", "9": "01"}.get(departement[-1], "03")
    digits = [prefix] + [f"{rng.randrange(100):02d}" for _ in range(4)]
    style = rng.random()
    if style < 0.55:
        return " ".join(digits)
    if style < 0.75:
        return "".join(digits)
    if style < 0.9:
        return ".".join(digits)
    return "+33 " + digits[0][1] + " " + " ".join(digits[1:])


def _slug(name: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = "-".join(part for part in "".join(ch if ch.isalnum() else " " for ch in ascii_).split())
    return slug[:40].strip("-") or "structure"


def _description(rng: random.Random, categories: list[str]) -> str:
    """50 to 2,000 characters, median about 400 (log-normal)."""
    target = int(min(2000, max(50, math.exp(rng.gauss(math.log(400), 0.7)))))
    pool = [s for c in categories for s in SENTENCES.get(c, [])] or COMMON
    parts: list[str] = []
    size = 0
    while size < target:
        sentence = rng.choice(pool if rng.random() < 0.5 else COMMON)
        parts.append(sentence)
        size += len(sentence) + 1
    text = " ".join(parts)
    if len(text) > target:
        text = text[:target].rsplit(" ", 1)[0].rstrip(",;:.") + "."
    return text if len(text) >= 50 else (text + " " + COMMON[0])[:60]


def _name_variant(rng: random.Random, name: str) -> str:
    """The same organisation written by another producer."""
    variants = [
        lambda n: n.upper(),
        lambda n: unicodedata.normalize("NFKD", n).encode("ascii", "ignore").decode(),
        lambda n: n.replace("Centre communal d'action sociale", "CCAS").replace("CCAS de", "C.C.A.S."),
        lambda n: n.replace("Association ", "Asso. ").replace(" de ", " - "),
        lambda n: n + " (antenne)",
        lambda n: n.replace("Mission locale", "ML").replace("France Services", "Espace France Services"),
        lambda n: n.replace("–", "-").replace("'", "’"),
    ]
    return rng.choice(variants)(name)


def generate(out_dir: Path, n_structures: int, n_services: int, communes: list[Commune],
             seed: int = 2026) -> tuple[Path, Path]:
    """Write structures.ndjson and services.ndjson into out_dir; return their paths."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    commune_cum = _cum(c.population + 1 for c in communes)
    source_cum = _cum(w for _, w in SOURCES)
    source_names = [s for s, _ in SOURCES]
    kind_cum = _cum(w for _, _, w in KINDS)
    region_deps = _region_departements(communes)
    thematiques = _thematiques_by_category()
    categories = sorted(thematiques)
    from catalogue import vocabulary

    publics = [p for p in vocabulary.publics() if p != "tous-publics"]
    types = list(vocabulary.types())
    labels = vocabulary.thematiques()
    structures_path = out_dir / "structures.ndjson"
    services_path = out_dir / "services.ndjson"
    owners = _write_structures(structures_path, rng, n_structures, communes, commune_cum, kind_cum,
                               source_cum, source_names, categories)
    _write_services(services_path, rng, n_services, owners, thematiques, categories, region_deps,
                    publics, types, labels)
    return structures_path, services_path


def _region_departements(communes: list[Commune]) -> dict[str, list[str]]:
    """The départements of each région (those of the communes given)."""
    dep_communes: dict[str, list[Commune]] = {}
    for c in communes:
        dep_communes.setdefault(c.departement, []).append(c)
    region_deps: dict[str, list[str]] = {}
    for dep, cs in dep_communes.items():
        if cs[0].region:
            region_deps.setdefault(cs[0].region, []).append(dep)
    return region_deps


# Days since the epoch of the newest date_maj (2024-10-04).
_BASE_DATE = 20_000


def _date(days_ago: int) -> str:
    import datetime as dt
    return (dt.date(1970, 1, 1) + dt.timedelta(days=_BASE_DATE - days_ago)).isoformat()


def _write_structures(structures_path: Path, rng: random.Random, n_structures: int, communes: list[Commune],
                      commune_cum, kind_cum, source_cum, source_names, categories) -> list[tuple]:
    """Structures into structures_path; (source, id, commune, point, categories it
    works in) of each."""
    owners: list[tuple[str, str, Commune, tuple[float, float] | None, list[str]]] = []
    with open(structures_path, "wb") as f:
        i = 0
        while len(owners) < n_structures:
            commune = _weighted(rng, commune_cum, communes)
            template, reseau, _ = _weighted(rng, kind_cum, KINDS)
            du = "de l'" if commune.nom[:1] in "AEIOUÉÈ" else "de"
            name = template.format(word=rng.choice(WORDS), commune=commune.nom, du=du).replace("de de", "de")
            name = name[:150]
            point = (round(commune.lon + rng.uniform(-0.003, 0.003), 6),
                     round(commune.lat + rng.uniform(-0.003, 0.003), 6)) if rng.random() < 0.85 else None
            address = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
            siret = f"{rng.randrange(10**13, 10**14):014d}" if rng.random() < 0.7 else None
            cats = rng.sample(categories, rng.choice([1, 1, 2, 2, 3]))
            copies = 1
            if rng.random() < 0.06:  # the same organisation in two or three sources
                copies = 2 if rng.random() < 0.75 else 3
            sources_used = []
            for k in range(copies):
                source = _weighted(rng, source_cum, source_names)
                while source in sources_used:
                    source = _weighted(rng, source_cum, source_names)
                sources_used.append(source)
                sid = f"{source}--{_slug(name)}-{i}"
                record = {
                    "source": source, "id": sid, "nom": name if k == 0 else _name_variant(rng, name),
                    "date_maj": _date(rng.randrange(DATE_DAYS)),
                    "siret": siret if (k == 0 or rng.random() < 0.5) else None,
                    "commune": commune.nom, "code_postal": commune.code_postal, "code_insee": commune.code,
                    "adresse": address if k == 0 else address.replace("rue", "r.").replace("avenue", "av."),
                    "telephone": _phone(rng, commune.departement),
                    "courriel": f"contact@{_slug(name)[:20].strip('-')}.fr" if rng.random() < 0.45 else None,
                    "site_web": f"https://www.{_slug(name)[:24].strip('-')}.fr" if rng.random() < 0.3 else None,
                    "horaires_accueil": rng.choice(HOURS) if rng.random() < 0.4 else None,
                    "reseaux_porteurs": [reseau] if reseau else None,
                    "description": _description(rng, cats) if rng.random() < 0.5 else None,
                }
                if point:
                    jitter = 0 if k == 0 else 0.0004
                    record["longitude"] = round(point[0] + rng.uniform(-jitter, jitter), 6)
                    record["latitude"] = round(point[1] + rng.uniform(-jitter, jitter), 6)
                f.write(orjson.dumps({k2: v for k2, v in record.items() if v is not None}) + b"\n")
                owners.append((source, sid, commune, point, cats))
                if len(owners) >= n_structures:
                    break
            i += 1
    return owners


def _write_services(services_path: Path, rng: random.Random, n_services: int, owners: list[tuple],
                    thematiques, categories, region_deps, publics, types, labels) -> None:
    # Services per structure follow a long tail: most have one to three, some dozens.
    owner_cum = _cum(1 / (1 + (j % 97)) ** 0.6 for j in range(len(owners)))
    with open(services_path, "wb") as f:
        for n in range(n_services):
            source, sid, commune, point, cats = _weighted(rng, owner_cum, owners)
            count = _weighted(rng, _THEME_COUNT_CUM, [1, 2, 3, 4, 5])
            category = rng.choice(cats)
            chosen = set(rng.sample(thematiques[category], min(count, len(thematiques[category]))))
            while len(chosen) < count:  # the rest from a neighbouring category
                chosen.add(rng.choice(thematiques[rng.choice(categories)]))
            modes = _weighted(rng, _MODES_CUM, _MODES)
            zone = _zone(rng, commune, region_deps)
            theme_label = labels[rng.choice(sorted(chosen))]
            if rng.random() < 0.5:
                theme_label += " – " + rng.choice(_NAME_TAILS) + " " + commune.nom
            record = {
                "source": source, "id": f"{source}--svc-{n}", "structure_id": sid,
                "nom": (theme_label[:1].upper() + theme_label[1:])[:150],
                "description": _description(rng, sorted({t.split("--")[0] for t in chosen})),
                "date_maj": _date(rng.randrange(DATE_DAYS)),
                "type": rng.choice(types) if rng.random() < 0.8 else None,
                "thematiques": sorted(chosen),
                "frais": _weighted(rng, _FRAIS_CUM, _FRAIS),
                "publics": (["tous-publics"] if rng.random() < 0.45 else rng.sample(publics, rng.choice([1, 1, 2, 3]))),
                "modes_accueil": modes,
                "zone_eligibilite": zone,
                "modes_mobilisation": rng.sample(["telephoner", "se-presenter", "envoyer-un-courriel",
                                                  "utiliser-lien-mobilisation"], rng.choice([1, 1, 2]))
                if rng.random() < 0.8 else None,
                "mobilisable_par": rng.choice([["professionnels"], ["usagers"], ["professionnels", "usagers"]])
                if rng.random() < 0.85 else None,
                "telephone": _phone(rng, commune.departement),
                "courriel": f"accueil-{n % 1000}@{source}.fr" if rng.random() < 0.35 else None,
                "horaires_accueil": rng.choice(HOURS) if rng.random() < 0.3 else None,
            }
            if modes != ["a-distance"]:
                record.update(commune=commune.nom, code_postal=commune.code_postal, code_insee=commune.code)
                if point and rng.random() < 0.8:
                    record["longitude"], record["latitude"] = point
            f.write(orjson.dumps({k: v for k, v in record.items() if v is not None}) + b"\n")


_NAME_TAILS = ["permanence de", "atelier à", "accueil de", "antenne de", "service de"]
_THEME_COUNT_CUM = _cum([0.35, 0.30, 0.20, 0.10, 0.05])  # mean 2.2
_MODES = [["en-presentiel"], ["en-presentiel", "a-distance"], ["a-distance"], None]
_MODES_CUM = _cum([55, 25, 12, 8])
_FRAIS = ["gratuit", "payant", None]
_FRAIS_CUM = _cum([70, 12, 18])
_ZONES = ["vide", "departement", "epci", "region", "commune", "france"]
_ZONES_CUM = _cum([33, 26, 15, 9, 9, 8])


def _zone(rng: random.Random, commune: Commune, region_deps: dict[str, list[str]]) -> list[str] | None:
    kind = _weighted(rng, _ZONES_CUM, _ZONES)
    if kind == "departement":
        return [commune.departement]
    if kind == "epci" and commune.epci:
        return [commune.epci]
    if kind == "region" and commune.region in region_deps:
        return sorted(region_deps[commune.region])
    if kind == "commune":
        return [commune.code]
    if kind == "france":
        return ["france"]
    return None


def _thematiques_by_category() -> dict[str, list[str]]:
    from catalogue import vocabulary

    out: dict[str, list[str]] = {}
    for t in vocabulary.thematiques():
        out.setdefault(t.split("--", 1)[0], []).append(t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--structures", type=int, default=25_000)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=None,
                        help="a database with the référentiel (default: the test template)")
    args = parser.parse_args()
    url = args.database_url
    if not url:
        from tests import dbsetup

        server = dbsetup.server_url()
        url = dbsetup._with_db(server, dbsetup.build_template(server))
    communes = load_communes(url)
    s, v = generate(args.out_dir, args.structures, args.services, communes, args.seed)
    print(f"{s}: {s.stat().st_size / 1e6:.1f} MB; {v}: {v.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
