"""A deterministic demonstration catalogue for one SPIE département (Aisne by
default): structures and services spread over its communes by population, every
SPIE thematic, realistic publics, fees, zones, hours. Everything it makes has the
source "demo" and is labelled as demonstration data wherever it shows."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from catalogue.models import LocationPrecision, Service, Status, Structure
from catalogue.queries import DEMO_SOURCE

NAMESPACE = uuid.UUID("6f1d3c52-8f44-4a43-9d57-0c3d1f1e2a10")

# (kind of structure, réseau porteur or None, SPIE groups it mostly serves)
STRUCTURE_KINDS = [
    ("CCAS de {commune}", "ccas-cias", ["acces-aux-droits", "situation-financiere", "logement"]),
    ("Mission locale de {ville}", "mission-locale", ["emploi-formation", "mobilite", "logement", "sante"]),
    ("France Travail {ville}", "france-travail", ["emploi-formation", "creation-entreprise", "mobilite"]),
    ("Centre social {nom}", "fcsf", ["sociabilisation-remobilisation", "garde-enfant-famille", "illettrisme-illectronisme"]),
    ("France services {commune}", "france-service", ["acces-aux-droits", "illettrisme-illectronisme"]),
    ("Association {nom} – insertion", None, ["emploi-formation", "sociabilisation-remobilisation"]),
    ("Garage solidaire {nom}", None, ["mobilite"]),
    ("Auto-école sociale {nom}", None, ["mobilite"]),
    ("Épicerie solidaire {nom}", "banques-alimentaires", ["situation-financiere"]),
    ("Point conseil budget {ville}", "cresus", ["situation-financiere"]),
    ("Crèche AVIP {nom}", "creches-avip", ["garde-enfant-famille"]),
    ("Maison de santé {commune}", None, ["sante"]),
    ("Atelier chantier d'insertion {nom}", "ai", ["emploi-formation", "sociabilisation-remobilisation"]),
    ("Boutique de gestion {ville}", None, ["creation-entreprise"]),
    ("Centre de formation {nom}", None, ["emploi-formation", "illettrisme-illectronisme"]),
    ("Agence départementale d'information sur le logement {ville}", None, ["logement"]),
]

NOMS = [
    "Les Tilleuls", "L'Escale", "Le Relais", "Horizon", "La Passerelle", "Le Tremplin",
    "Les Coquelicots", "Solidarités", "L'Envol", "Le Phare", "Rebond", "Cap Avenir",
    "La Clé", "Les Quatre Vents", "Le Lien", "Entraide", "Archipel", "La Source",
]

# SPIE group -> list of (name, thematiques, type, publics, description)
OFFERS = {
    "logement": [
        ("Accompagnement à l'accès au logement", ["logement-hebergement--louer-un-logement", "logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement"], "accompagnement", ["tous-publics"], "Un conseiller vous aide à constituer votre dossier de demande de logement social, à préparer les visites et à comprendre le bail."),
        ("Hébergement temporaire d'urgence", ["logement-hebergement--rechercher-une-solution-dhebergement-temporaire"], "aide-materielle", ["personnes-en-situation-durgence"], "Mise à l'abri et orientation vers une solution d'hébergement adaptée, en lien avec le SIAO."),
        ("Prévention des impayés de loyer", ["logement-hebergement--reduire-les-impayes-de-loyer", "logement-hebergement--se-maintenir-dans-le-logement"], "accompagnement", ["familles", "beneficiaires-des-minimas-sociaux"], "Rendez-vous pour faire le point sur les dettes de loyer, mobiliser le FSL et négocier un plan d'apurement."),
    ],
    "illettrisme-illectronisme": [
        ("Atelier numérique : premiers pas sur internet", ["numerique--maitriser-les-fondamentaux-du-numerique"], "atelier", ["tous-publics"], "Apprendre à utiliser un ordinateur, une boîte mail et un smartphone, en petit groupe, à son rythme."),
        ("Aide aux démarches en ligne", ["numerique--acceder-a-des-services-en-ligne"], "accompagnement", ["tous-publics"], "Un conseiller vous accompagne pour vos démarches sur les sites de la CAF, de France Travail, des impôts ou de l'ANTS."),
        ("Cours de français langue étrangère (FLE)", ["lecture-ecriture-calcul--maitriser-le-francais"], "formation", ["personnes-exilees"], "Cours de français à l'oral et à l'écrit pour les personnes dont le français n'est pas la langue maternelle."),
        ("Remise à niveau savoirs de base", ["lecture-ecriture-calcul--maitriser-le-francais", "lecture-ecriture-calcul--maitriser-le-calcul"], "formation", ["demandeurs-emploi", "beneficiaires-des-minimas-sociaux"], "Lecture, écriture et calcul au quotidien et au travail, pour reprendre confiance et préparer une formation."),
        ("Prêt d'ordinateurs et accès internet", ["numerique--acquerir-un-equipement", "numerique--acceder-a-une-connexion-internet"], "aide-materielle", ["tous-publics"], "Ordinateurs en libre accès, connexion wifi et prêt de matériel pour les personnes sans équipement."),
    ],
    "situation-financiere": [
        ("Aide alimentaire – épicerie solidaire", ["equipement-et-alimentation--alimentation"], "aide-materielle", ["beneficiaires-des-minimas-sociaux", "familles"], "Produits alimentaires et d'hygiène à prix réduit, sur orientation d'un travailleur social."),
        ("Accompagnement budgétaire", ["difficultes-financieres--ameliorer-sa-gestion-budgetaire", "difficultes-financieres--prevenir-une-degradation-de-la-situation-financiere"], "accompagnement", ["tous-publics"], "Faire le point sur son budget, prévenir les difficultés et être accompagné dans ses démarches auprès des créanciers."),
        ("Aide au dossier de surendettement", ["difficultes-financieres--situation-dendettement-surendettement"], "accompagnement", ["tous-publics"], "Aide à la constitution du dossier de surendettement auprès de la Banque de France et suivi de la procédure."),
        ("Vestiboutique solidaire", ["equipement-et-alimentation--habillement"], "aide-materielle", ["tous-publics"], "Vêtements à petits prix pour toute la famille, tenue pour un entretien d'embauche."),
    ],
    "sociabilisation-remobilisation": [
        ("Atelier confiance en soi", ["remobilisation--bien-etre-confiance-en-soi"], "atelier", ["beneficiaires-des-minimas-sociaux", "demandeurs-emploi"], "Ateliers collectifs pour reprendre confiance, travailler son image et préparer un retour vers l'activité."),
        ("Activités sportives et culturelles", ["remobilisation--activites-sportives-et-culturelles", "remobilisation--lien-social"], "atelier", ["tous-publics"], "Sorties, sport adapté et activités culturelles pour rompre l'isolement."),
        ("Bénévolat et engagement citoyen", ["remobilisation--benevolat-action-citoyenne"], "information", ["tous-publics"], "Trouver une mission de bénévolat près de chez soi pour reprendre un rythme et créer du lien."),
    ],
    "acces-aux-droits": [
        ("Aide aux démarches administratives", ["difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives"], "accompagnement", ["tous-publics"], "Accompagnement pour vos démarches : CAF, CPAM, retraite, carte d'identité, RSA."),
        ("Permanence d'accès aux droits", ["difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits"], "information", ["tous-publics"], "Permanence gratuite pour connaître vos droits et être orienté vers le bon interlocuteur."),
    ],
    "emploi-formation": [
        ("Atelier CV et lettre de motivation", ["preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation"], "atelier", ["demandeurs-emploi", "jeunes"], "Rédiger un CV clair et une lettre de motivation adaptée à chaque offre, avec un conseiller."),
        ("Préparation aux entretiens d'embauche", ["trouver-un-emploi--convaincre-un-recruteur-en-entretien"], "atelier", ["demandeurs-emploi"], "Simulations d'entretien filmées et conseils personnalisés."),
        ("Accompagnement renforcé vers l'emploi", ["trouver-un-emploi--suivre-ses-candidatures-et-relancer-les-employeurs", "trouver-un-emploi--convaincre-un-recruteur-en-entretien"], "accompagnement", ["beneficiaires-des-minimas-sociaux"], "Un référent unique vous accompagne vers l'emploi durable : projet, candidatures, mises en situation."),
        ("Découverte des métiers en tension", ["choisir-un-metier--decouvrir-un-metier-ou-un-secteur-dactivite"], "atelier", ["jeunes", "demandeurs-emploi"], "Visites d'entreprises et immersions pour découvrir les métiers qui recrutent dans le territoire."),
        ("Contrat d'engagement jeune", ["choisir-un-metier--identifier-ses-points-forts-et-ses-competences", "trouver-un-emploi--repondre-a-des-offres-demploi"], "accompagnement", ["jeunes"], "Pour les 16-25 ans : un accompagnement intensif de 15 à 20 heures par semaine et une allocation."),
        ("Formation qualifiante aux métiers de l'aide à domicile", ["se-former--trouver-sa-formation"], "formation", ["demandeurs-emploi"], "Formation certifiante avec stages en structure, ouverte aux demandeurs d'emploi."),
    ],
    "creation-entreprise": [
        ("Accompagnement à la création d'entreprise", ["creer-une-entreprise--definir-son-projet-de-creation-dentreprise", "creer-une-entreprise--structurer-son-projet-de-creation-dentreprise"], "accompagnement", ["tous-publics"], "Du projet à l'immatriculation : étude de marché, statut, financement, avec un conseiller."),
        ("Microcrédit pour créer son activité", ["creer-une-entreprise--developper-son-entreprise"], "aide-financiere", ["beneficiaires-des-minimas-sociaux", "demandeurs-emploi"], "Prêt d'honneur et microcrédit pour les créateurs qui n'ont pas accès au crédit bancaire."),
    ],
    "mobilite": [
        ("Préparer son permis de conduire", ["mobilite--preparer-un-permis"], "formation", ["demandeurs-emploi", "jeunes", "beneficiaires-des-minimas-sociaux"], "Code et conduite à tarif social, avec un accompagnement adapté aux personnes en insertion."),
        ("Location de véhicules à tarif solidaire", ["mobilite--acceder-a-un-vehicule"], "aide-materielle", ["demandeurs-emploi", "beneficiaires-des-minimas-sociaux"], "Voitures et scooters loués à petit prix pour se rendre au travail ou en formation."),
        ("Réparation de véhicules à prix solidaire", ["mobilite--entretenir-reparer-son-vehicule"], "aide-materielle", ["beneficiaires-des-minimas-sociaux"], "Entretien et réparation de votre véhicule, vous ne payez que les pièces et une petite participation."),
        ("Conseil en mobilité", ["mobilite--etre-accompagne-dans-son-parcours-mobilite", "mobilite--mobilite-douce-partagee-collective"], "accompagnement", ["tous-publics"], "Bilan de mobilité, transports en commun, covoiturage, vélo : trouver la solution pour vos trajets."),
        ("Aide financière à la mobilité", ["mobilite--financer-ma-mobilite"], "aide-financiere", ["demandeurs-emploi"], "Prise en charge de frais de déplacement, de repas ou d'hébergement pour reprendre un emploi ou une formation."),
    ],
    "garde-enfant-famille": [
        ("Places en crèche pour parents en insertion", ["famille--garde-denfants"], "aide-materielle", ["familles", "demandeurs-emploi"], "Crèche à vocation d'insertion professionnelle : une place pour votre enfant pendant votre recherche d'emploi ou votre formation."),
        ("Soutien à la parentalité", ["famille--soutien-a-la-parentalite-et-a-leducation"], "atelier", ["familles"], "Groupes de parole et ateliers parents-enfants."),
        ("Relais petite enfance – trouver une assistante maternelle", ["famille--garde-denfants"], "information", ["familles"], "Liste des assistantes maternelles disponibles et aide aux démarches d'employeur."),
    ],
    "sante": [
        ("Bilan de santé gratuit", ["sante--acces-aux-soins"], "accompagnement", ["tous-publics"], "Examen de prévention santé gratuit et orientation vers un médecin traitant."),
        ("Soutien psychologique", ["sante--sante-mentale"], "accompagnement", ["tous-publics"], "Entretiens avec un psychologue, sans avance de frais."),
        ("Aide au dossier MDPH", ["sante--constituer-un-dossier-mdph-invalidite"], "accompagnement", ["personnes-en-situation-de-handicap"], "Aide pour constituer un dossier de reconnaissance de handicap (RQTH, AAH) auprès de la MDPH."),
    ],
}

HOURS = [
    "Mo-Fr 09:00-12:00,14:00-17:00; PH off",
    "Mo-Th 08:30-12:30,13:30-17:00; Fr 08:30-12:00; PH off",
    "Tu,Th 14:00-17:00; PH off",
    "Mo-Fr 09:00-17:00; PH off",
    "We 09:00-12:00; Sa 09:00-12:00; PH off",
    None,
]

PUBLICS_EXTRA = [
    "femmes", "jeunes", "seniors", "personnes-en-situation-de-handicap", "residents-qpv-frr",
    "familles", "personnes-exilees", "demandeurs-emploi",
]


def _uuid(kind: str, n: int, departement: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{departement}-{kind}-{n}")


def catalogue_has_services(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(Service.id.isnot(None)))))


def _communes(session: Session, departement: str):
    rows = session.execute(
        text(
            """
            SELECT code, nom, epci_code, population, codes_postaux,
                   ST_X(centre::geometry), ST_Y(centre::geometry)
            FROM geo_commune
            WHERE departement_code = :d AND type = 'COM' AND centre IS NOT NULL
            ORDER BY code
            """
        ),
        {"d": departement},
    ).all()
    if not rows:
        raise LookupError(
            f"Aucune commune pour le département {departement} : chargez d'abord le référentiel "
            "(offre geo load)."
        )
    return rows


def load(
    session: Session,
    *,
    departement: str = "02",
    n_structures: int = 300,
    n_services: int = 1500,
    seed: int = 2026,
    progress: Callable[[int], None] | None = None,
    today: date | None = None,
) -> dict[str, int]:
    """Create or update the demonstration catalogue; same seed, same catalogue."""
    progress = progress or (lambda n: None)
    today = today or date(2026, 11, 1)
    rng = random.Random(seed)
    communes = _communes(session, departement)
    weights = [max(r.population or 0, 50) ** 0.8 for r in communes]
    villes = sorted(communes, key=lambda r: -(r.population or 0))[:12]
    existing_structures, existing_services = _existing(session)
    upsert = _Upserts(session)
    structures = _structures(session, upsert, existing_structures, rng, communes, weights, villes,
                             n_structures=n_structures, departement=departement, today=today, seed=seed)
    _services(session, upsert, existing_services, rng, structures,
              n_services=n_services, departement=departement, today=today, seed=seed, progress=progress)
    return {
        "structures": n_structures,
        "services": n_services,
        "created": upsert.created,
        "updated": upsert.updated,
    }


def _existing(session: Session) -> tuple[dict, dict]:
    """The demonstration's structures and services already there, by source_id."""
    existing_structures = {
        s.source_id: s
        for s in session.scalars(select(Structure).where(Structure.source == DEMO_SOURCE))
    }
    existing_services = {
        s.source_id: s
        for s in session.scalars(select(Service).where(Service.source == DEMO_SOURCE))
    }
    return existing_structures, existing_services


class _Upserts:
    """Create a record, or update the one there (its location kept); counts both."""

    def __init__(self, session: Session):
        self.session = session
        self.created = self.updated = 0

    def __call__(self, model, existing, values):
        session = self.session
        record = existing.get(values["source_id"])
        if record is None:
            record = model(**values)
            session.add(record)
            self.created += 1
            return record
        changed = False
        for key, value in values.items():
            if key == "location":
                continue
            if getattr(record, key) != value:
                setattr(record, key, value)
                changed = True
        self.updated += changed
        return record


def _structures(session: Session, upsert: _Upserts, existing_structures: dict, rng, communes, weights, villes, *,
                n_structures: int, departement: str, today: date, seed: int) -> list[tuple]:
    structures = []
    for i in range(n_structures):
        kind, reseau, groups = STRUCTURE_KINDS[i % len(STRUCTURE_KINDS)]
        commune = rng.choices(communes, weights)[0] if "{ville}" not in kind else rng.choice(villes)
        nom = kind.format(commune=commune.nom, ville=commune.nom, nom=rng.choice(NOMS))
        lon = commune[5] + rng.uniform(-0.01, 0.01)
        lat = commune[6] + rng.uniform(-0.006, 0.006)
        source_id = f"{departement}-structure-{i + 1:04d}"
        values = dict(
            id=_uuid("structure", i, departement),
            source=DEMO_SOURCE,
            source_id=source_id,
            status=Status.PUBLIE,
            nom=nom[:150],
            description=f"Structure de démonstration ({nom}). Données fictives générées pour présenter le service.",
            siret=f"{rng.randrange(10**13, 10**14)}",
            commune=commune.nom,
            code_postal=(commune.codes_postaux or [None])[0],
            code_insee=commune.code,
            adresse=f"{rng.randint(1, 90)} rue {rng.choice(['de la République', 'Jean Jaurès', 'Victor Hugo', 'du Général de Gaulle', 'de la Gare', 'Pasteur'])}",
            telephone=f"03 23 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
            courriel=f"contact{i + 1}@demo.example.org",
            site_web=None,
            horaires_accueil=rng.choice(HOURS[:5]),
            reseaux_porteurs=[reseau] if reseau else [],
            date_maj=today - timedelta(days=rng.randint(5, 700)),
            location_precision=LocationPrecision.ADRESSE,
            raw={"demo": True, "seed": seed},
        )
        record = upsert(Structure, existing_structures, values)
        if record.location is None:
            record.location = f"SRID=4326;POINT({lon:.6f} {lat:.6f})"
        structures.append((record, commune, groups, lon, lat))
    session.flush()
    return structures


def _services(session: Session, upsert: _Upserts, existing_services: dict, rng, structures, *,
              n_services: int, departement: str, today: date, seed: int, progress) -> None:
    group_codes = list(OFFERS)
    for j in range(n_services):
        structure, commune, groups, lon, lat = structures[j % len(structures)] if j < len(structures) else rng.choice(structures)
        # Every SPIE group appears; most offers follow the structure's own groups.
        group = group_codes[j % len(group_codes)] if j < 3 * len(group_codes) else (
            rng.choice(groups) if rng.random() < 0.8 else rng.choice(group_codes)
        )
        nom, thematiques, type_, publics, description = rng.choice(OFFERS[group])
        if publics != ["tous-publics"] and rng.random() < 0.3:
            publics = sorted(set(publics) | {rng.choice(PUBLICS_EXTRA)})
        modes_accueil, zone = _reach(rng, commune, departement)
        modes_mobilisation = rng.sample(
            ["telephoner", "envoyer-un-courriel", "se-presenter", "utiliser-lien-mobilisation"],
            rng.randint(1, 3),
        )
        frequence = rng.choice([90, 180, 180, 365])
        date_maj = today - timedelta(days=rng.randint(1, 600))
        source_id = f"{departement}-service-{j + 1:05d}"
        values = dict(
            id=_uuid("service", j, departement),
            source=DEMO_SOURCE,
            source_id=source_id,
            structure_id=structure.id,
            status=Status.PUBLIE,
            nom=f"{nom} – {commune.nom}"[:150] if rng.random() < 0.4 else nom,
            description=description + " (Offre de démonstration : données fictives.)",
            type=type_,
            thematiques=list(thematiques),
            frais="payant" if rng.random() < 0.12 else "gratuit",
            publics=list(publics),
            modes_accueil=modes_accueil,
            zone_eligibilite=zone,
            modes_mobilisation=sorted(modes_mobilisation),
            mobilisable_par=rng.choice([["professionnels"], ["usagers"], ["professionnels", "usagers"], ["professionnels", "usagers"]]),
            mobilisation_precisions="Sur orientation d'un référent ou en prenant contact directement." if rng.random() < 0.5 else None,
            lien_mobilisation=f"https://demo.example.org/services/{source_id}" if "utiliser-lien-mobilisation" in modes_mobilisation else None,
            commune=commune.nom if "en-presentiel" in modes_accueil else None,
            code_postal=(commune.codes_postaux or [None])[0] if "en-presentiel" in modes_accueil else None,
            code_insee=commune.code if "en-presentiel" in modes_accueil else None,
            adresse=structure.adresse if "en-presentiel" in modes_accueil else None,
            telephone=structure.telephone,
            courriel=structure.courriel,
            horaires_accueil=rng.choice(HOURS) if "en-presentiel" in modes_accueil else None,
            frequence_maj_jours=frequence,
            date_maj=date_maj,
            location_precision=LocationPrecision.ADRESSE if "en-presentiel" in modes_accueil else None,
            raw={"demo": True, "seed": seed},
        )
        record = upsert(Service, existing_services, values)
        if record.location is None and "en-presentiel" in modes_accueil:
            record.location = f"SRID=4326;POINT({lon:.6f} {lat:.6f})"
        progress(1)
        if j % 500 == 499:
            session.flush()
    session.flush()


def _reach(rng, commune, departement: str) -> tuple[list[str], list[str]]:
    """(modes_accueil, zone_eligibilite) of a demonstration offer."""
    mode = rng.random()
    modes_accueil = (
        ["en-presentiel"] if mode < 0.75 else ["a-distance"] if mode < 0.87 else ["en-presentiel", "a-distance"]
    )
    zone_kind = rng.random()
    if modes_accueil == ["a-distance"] and rng.random() < 0.4:
        zone = ["france"]
    elif zone_kind < 0.3:
        zone = [commune.code]
    elif zone_kind < 0.6 and commune.epci_code:
        zone = [commune.epci_code]
    elif zone_kind < 0.93:
        zone = [departement]
    else:
        zone = []
    return modes_accueil, zone
