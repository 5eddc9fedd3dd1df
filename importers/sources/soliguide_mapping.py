"""Soliguide categories (importers/soliguide_categories.json, the taxonomy of
Soliguide v4) → data·inclusion v1 thematiques. Documented in
docs/import-mapping.md. A category absent here (showers, toilets, luggage…) has no
v1 equivalent: the service is kept and the category reported in the warnings."""

from __future__ import annotations

_SOINS = ["sante--acces-aux-soins"]
_MENTALE = ["sante--sante-mentale"]
_SEXUELLE = ["sante--sante-sexuelle"]
_ALIMENTATION = ["equipement-et-alimentation--alimentation"]
_HEBERGEMENT = ["logement-hebergement--rechercher-une-solution-dhebergement-temporaire"]
_DEMARCHES = ["difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives"]
_DROITS = ["difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits"]
_PARENTALITE = ["famille--soutien-a-la-parentalite-et-a-leducation"]
_LOISIRS = ["remobilisation--activites-sportives-et-culturelles"]
_EN_LIGNE = ["numerique--acceder-a-des-services-en-ligne"]

_HEALTH_SPECIALISTS = (
    "health_specialists allergology cardiology dermatology endocrinology gastroenterology "
    "kinesitherapy otorhinolaryngology speech_therapy osteopathy pedicure phlebology pneumology "
    "radiology rheumatology stomatology urology neurology vascular_surgery "
    "health health_access health_coverage find_healthcare physical_health general_practitioner "
    "health_assessment child_care dental_care optical_care hearing_care infirmary vaccination "
    "std_testing chronic_diseases nutrition medical_accommodation pregnancy_care"
).split()

CATEGORIES: dict[str, list[str]] = {
    **{c: _SOINS for c in _HEALTH_SPECIALISTS},
    **{c: _MENTALE for c in "mental_health psychological_support psychiatry support_groups mental_health_education therapeutic_activities".split()},
    **{c: ["sante--addictions"] for c in "addictions addiction_care addiction_prevention_and_material".split()},
    **{c: _SEXUELLE for c in "sexual_health emergency_contraception abortion contraception gynecology sti_prevention_testing hiv_prevention sexual_health_vaccination sexual_health_education affective_life".split()},
    "sexual_violence_support": ["famille--surmonter-conflits-separation-violence", "sante--sante-sexuelle"],
    "parenthood": _PARENTALITE,
    "parent_assistance": _PARENTALITE,
    "family_area": _PARENTALITE,
    "tutoring": _PARENTALITE,
    "babysitting": ["famille--garde-denfants"],
    # Mobility
    "mobility": ["mobilite--etre-accompagne-dans-son-parcours-mobilite"],
    "mobility_support": ["mobilite--etre-accompagne-dans-son-parcours-mobilite"],
    "transportation_mobility": ["mobilite--mobilite-douce-partagee-collective"],
    "personal_vehicle_access": ["mobilite--acceder-a-un-vehicule"],
    "vehicle_maintenance": ["mobilite--entretenir-reparer-son-vehicule"],
    "driving_license": ["mobilite--preparer-un-permis"],
    "mobility_financing": ["mobilite--financer-ma-mobilite"],
    # Training and jobs
    "training_and_jobs": ["preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi"],
    "job_coaching": ["preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi"],
    "integration_through_economic_activity": ["trouver-un-emploi--repondre-a-des-offres-demploi"],
    "digital_tools_training": ["numerique--maitriser-les-fondamentaux-du-numerique"],
    "french_course": ["lecture-ecriture-calcul--maitriser-le-francais"],
    # Counseling
    "counseling": _DROITS,
    "social_accompaniment": _DROITS,
    "information_point": _DROITS,
    "legal_advice": ["difficultes-administratives-ou-juridiques--prendre-en-compte-une-problematique-judiciaire"],
    "domiciliation": _DEMARCHES,
    "public_writer": _DEMARCHES,
    "administrative_assistance": _DEMARCHES,
    "disability_advice": ["sante--constituer-un-dossier-mdph-invalidite"],
    "budget_advice": ["difficultes-financieres--ameliorer-sa-gestion-budgetaire"],
    "legal_protection": ["difficultes-administratives-ou-juridiques--beneficier-dune-mesure-daccompagnement-adapte"],
    "regularization": ["difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-a-la-citoyennete"],
    # Technology
    "technology": _EN_LIGNE,
    "computers_at_your_disposal": _EN_LIGNE,
    "telephone_at_your_disposal": _EN_LIGNE,
    "digital_safe": _EN_LIGNE,
    "wifi": ["numerique--acceder-a-une-connexion-internet"],
    # Food
    **{c: _ALIMENTATION for c in "food food_distribution food_packages social_grocery_stores solidarity_fridge shared_kitchen cooking_workshop baby_parcel food_voucher community_garden".split()},
    # Welcome, activities
    "welcome": ["remobilisation--lien-social"],
    "day_hosting": ["remobilisation--lien-social"],
    **{c: _LOISIRS for c in "activities sport_activities museums libraries other_activities".split()},
    "wellness": ["remobilisation--bien-etre-confiance-en-soi"],
    # Equipment
    "solidarity_store": ["equipement-et-alimentation--habillement"],
    "clothing": ["equipement-et-alimentation--habillement"],
    # Housing
    **{c: _HEBERGEMENT for c in "accomodation_and_housing overnight_stop emergency_accommodation long_term_accomodation citizen_housing".split()},
    "access_to_housing": ["logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement"],
}

# Publics of Soliguide → v1 publics.
ADMINISTRATIVE = {"asylum": "personnes-exilees", "refugee": "personnes-exilees", "undocumented": "personnes-exilees"}
FAMILY = {"family": "familles", "pregnant": "femmes"}
OTHER = {
    "handicap": "personnes-en-situation-de-handicap",
    "student": "etudiants",
    "prison": "personnes-en-situation-juridique-specifique",
    "violence": "personnes-en-situation-durgence",
    "prostitution": "personnes-en-situation-durgence",
}
