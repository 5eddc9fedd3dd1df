"""search: French full-text vectors, typo dictionary, vocabulary labels, triggers

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FUNCTIONS = r"""
-- French stemming over unaccented words: "ménage" and "menage" are one lexeme.
CREATE TEXT SEARCH CONFIGURATION french_unaccent (COPY = french);
ALTER TEXT SEARCH CONFIGURATION french_unaccent
  ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;

-- unaccent() is only STABLE (its dictionary could change); this wrapper names the
-- dictionary so that it may be used in indexes.
CREATE FUNCTION f_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
  AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

-- Words (3 letters or more, unaccented, lower case) for typo correction.
CREATE FUNCTION search_add_words(t text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO search_word (word)
  SELECT DISTINCT w FROM regexp_split_to_table(lower(f_unaccent(coalesce(t, ''))), '[^a-z0-9]+') w
  WHERE length(w) >= 3
  ON CONFLICT DO NOTHING
$$;

-- (Re)compute the search documents of the given services.
CREATE FUNCTION search_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_document (service_id, document)
  SELECT s.id,
         setweight(to_tsvector('french_unaccent', coalesce(s.nom, '') || ' ' || coalesce(st.nom, '')), 'A')
      || setweight(to_tsvector('french_unaccent', coalesce(l.labels, '')), 'B')
      || setweight(to_tsvector('french_unaccent', coalesce(s.description, '')), 'C')
  FROM service s
  JOIN structure st ON st.id = s.structure_id
  LEFT JOIN LATERAL (
    SELECT string_agg(lb.label, ' ') AS labels
    FROM search_label lb
    WHERE (lb.kind = 'thematique' AND lb.code = ANY (s.thematiques))
       OR (lb.kind IN ('categorie', 'spie')
           AND lb.code IN (SELECT split_part(t, '--', 1) FROM unnest(s.thematiques) t))
       OR (lb.kind = 'public' AND lb.code = ANY (s.publics))
       OR (lb.kind = 'type' AND lb.code = s.type)
  ) l ON true
  WHERE s.id = ANY (ids)
  ON CONFLICT (service_id) DO UPDATE SET document = EXCLUDED.document;

  PERFORM search_add_words(string_agg(s.nom || ' ' || st.nom, ' '))
  FROM service s JOIN structure st ON st.id = s.structure_id
  WHERE s.id = ANY (ids);
END $$;

-- Statement-level triggers: one refresh per statement (bulk imports stay fast).
CREATE FUNCTION search_service_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_refresh(ARRAY(SELECT id FROM changed));
  RETURN NULL;
END $$;

CREATE FUNCTION search_structure_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_refresh(ARRAY(
    SELECT s.id FROM service s
    JOIN changed c ON c.id = s.structure_id
    JOIN before b ON b.id = c.id
    WHERE c.nom IS DISTINCT FROM b.nom));
  RETURN NULL;
END $$;

CREATE TRIGGER service_search_insert AFTER INSERT ON service
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE TRIGGER service_search_update AFTER UPDATE ON service
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE TRIGGER structure_search_update AFTER UPDATE ON structure
  REFERENCING OLD TABLE AS before NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_structure_changed();
"""

DROP_FUNCTIONS = r"""
DROP TRIGGER IF EXISTS structure_search_update ON structure;
DROP TRIGGER IF EXISTS service_search_update ON service;
DROP TRIGGER IF EXISTS service_search_insert ON service;
DROP FUNCTION IF EXISTS search_structure_changed();
DROP FUNCTION IF EXISTS search_service_changed();
DROP FUNCTION IF EXISTS search_refresh(uuid[]);
DROP FUNCTION IF EXISTS search_add_words(text);
DROP FUNCTION IF EXISTS f_unaccent(text);
DROP TEXT SEARCH CONFIGURATION IF EXISTS french_unaccent;
"""


# The vocabulary's labels as search.labels.label_rows() gave them on 2026-12-05
# (data-inclusion-schema v1 and catalogue/spie_thematiques.json), frozen: `offre
# search rebuild` rewrites search_label from the vocabulary of its day.
LABELS = [
    ('thematique', 'choisir-un-metier--confirmer-son-choix-de-metier', 'Confirmer son choix de métier'),
    ('thematique', 'choisir-un-metier--connaitre-les-opportunites-demploi', 'Connaître les opportunités d’emploi'),
    ('thematique', 'choisir-un-metier--decouvrir-un-metier-ou-un-secteur-dactivite', 'Découvrir un métier ou un secteur d’activité'),
    ('thematique', 'choisir-un-metier--identifier-ses-points-forts-et-ses-competences', 'Identifier ses points forts et ses compétences'),
    ('thematique', 'creer-une-entreprise--definir-son-projet-de-creation-dentreprise', 'Définir son projet de création d’entreprise'),
    ('thematique', 'creer-une-entreprise--developper-son-entreprise', 'Développer son entreprise'),
    ('thematique', 'creer-une-entreprise--structurer-son-projet-de-creation-dentreprise', 'Structurer son projet de création d’entreprise'),
    ('thematique', 'difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives', 'Accompagnement aux démarches administratives'),
    ('thematique', 'difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-a-la-citoyennete', 'Accompagnement pour l’accès à la citoyenneté'),
    ('thematique', 'difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits', 'Accompagnement pour l’accès aux droits'),
    ('thematique', 'difficultes-administratives-ou-juridiques--beneficier-dune-mesure-daccompagnement-adapte', 'Bénéficier d’une mesure d’accompagnement adapté'),
    ('thematique', 'difficultes-administratives-ou-juridiques--connaitre-ses-droits-face-a-une-discrimination', 'Connaître ses droits face à une discrimination'),
    ('thematique', 'difficultes-administratives-ou-juridiques--prendre-en-compte-une-problematique-judiciaire', 'Prendre en compte une problématique judiciaire'),
    ('thematique', 'difficultes-financieres--acquerir-une-autonomie-budgetaire', 'Acquérir une autonomie budgétaire'),
    ('thematique', 'difficultes-financieres--ameliorer-sa-gestion-budgetaire', 'Améliorer sa gestion budgétaire'),
    ('thematique', 'difficultes-financieres--mettre-en-place-une-mesure-de-protection-financiere', 'Mettre en place une mesure de protection financière'),
    ('thematique', 'difficultes-financieres--prevenir-une-degradation-de-la-situation-financiere', 'Prévenir une dégradation de la situation financière'),
    ('thematique', 'difficultes-financieres--situation-dendettement-surendettement', 'Situation d’endettement ou de surendettement'),
    ('thematique', 'equipement-et-alimentation--aide-menagere', 'Aide ménagère'),
    ('thematique', 'equipement-et-alimentation--alimentation', 'Alimentation'),
    ('thematique', 'equipement-et-alimentation--electromenager', 'Électroménager'),
    ('thematique', 'equipement-et-alimentation--habillement', 'Habillement'),
    ('thematique', 'famille--garde-denfants', 'Garde d’enfants'),
    ('thematique', 'famille--prise-en-charge-personne-dependante', 'Prise en charge d’une personne dépendante'),
    ('thematique', 'famille--soutien-a-la-parentalite-et-a-leducation', 'Soutien à la parentalité et à l’éducation'),
    ('thematique', 'famille--soutien-aidants', 'Soutien aux aidants'),
    ('thematique', 'famille--surmonter-conflits-separation-violence', 'Surmonter les conflits liés à la séparation ou à la violence'),
    ('thematique', 'lecture-ecriture-calcul--maitriser-le-calcul', 'Maîtriser le calcul'),
    ('thematique', 'lecture-ecriture-calcul--maitriser-le-francais', 'Maîtriser le français'),
    ('thematique', 'logement-hebergement--acheter-un-logement', 'Acheter un logement'),
    ('thematique', 'logement-hebergement--changer-de-logement', 'Changer de logement'),
    ('thematique', 'logement-hebergement--louer-un-logement', 'Louer un logement'),
    ('thematique', 'logement-hebergement--rechercher-une-solution-dhebergement-temporaire', 'Rechercher une solution d’hébergement temporaire'),
    ('thematique', 'logement-hebergement--reduire-les-impayes-de-loyer', 'Réduire les impayés de loyer'),
    ('thematique', 'logement-hebergement--se-maintenir-dans-le-logement', 'Se maintenir dans le logement'),
    ('thematique', 'logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement', 'S’informer sur les démarches liées à l’accès au logement'),
    ('thematique', 'mobilite--acceder-a-un-vehicule', 'Accéder à un véhicule'),
    ('thematique', 'mobilite--entretenir-reparer-son-vehicule', 'Entretenir et réparer son véhicule'),
    ('thematique', 'mobilite--etre-accompagne-dans-son-parcours-mobilite', 'Être accompagné dans son parcours mobilité'),
    ('thematique', 'mobilite--financer-ma-mobilite', 'Financer ma mobilité'),
    ('thematique', 'mobilite--preparer-un-permis', 'Préparer un permis'),
    ('thematique', 'mobilite--mobilite-douce-partagee-collective', 'Utiliser des services de mobilité douce, partagée ou collective'),
    ('thematique', 'numerique--acceder-a-des-services-en-ligne', 'Accéder à des services en ligne'),
    ('thematique', 'numerique--acceder-a-une-connexion-internet', 'Accéder à une connexion Internet'),
    ('thematique', 'numerique--acquerir-un-equipement', 'Acquérir un équipement'),
    ('thematique', 'numerique--maitriser-les-fondamentaux-du-numerique', 'Maîtriser les fondamentaux du numérique'),
    ('thematique', 'preparer-sa-candidature--developper-son-reseau', 'Développer son réseau'),
    ('thematique', 'preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi', 'Organiser ses démarches de recherche d’emploi'),
    ('thematique', 'preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation', 'Réaliser un CV et/ou une lettre de motivation'),
    ('thematique', 'preparer-sa-candidature--valoriser-ses-competences', 'Valoriser ses compétences'),
    ('thematique', 'remobilisation--activites-sportives-et-culturelles', 'Activités sportives et culturelles'),
    ('thematique', 'remobilisation--benevolat-action-citoyenne', 'Bénévolat et action citoyenne'),
    ('thematique', 'remobilisation--bien-etre-confiance-en-soi', 'Bien-être et confiance en soi'),
    ('thematique', 'remobilisation--lien-social', 'Lien social'),
    ('thematique', 'sante--acces-aux-soins', 'Accès aux soins'),
    ('thematique', 'sante--addictions', 'Addictions'),
    ('thematique', 'sante--constituer-un-dossier-mdph-invalidite', 'Constituer un dossier MDPH pour invalidité'),
    ('thematique', 'sante--sante-mentale', 'Santé mentale'),
    ('thematique', 'sante--sante-sexuelle', 'Santé sexuelle'),
    ('thematique', 'se-former--monter-son-dossier-de-formation', 'Monter son dossier de formation'),
    ('thematique', 'se-former--trouver-sa-formation', 'Trouver sa formation'),
    ('thematique', 'souvrir-a-linternational--connaitre-les-opportunites-demploi-a-letranger', 'Connaître les opportunités d’emploi à l’étranger'),
    ('thematique', 'souvrir-a-linternational--sinformer-sur-les-aides-pour-travailler-a-letranger', 'S’informer sur les aides pour travailler à l’étranger'),
    ('thematique', 'souvrir-a-linternational--sorganiser-suite-a-son-retour-en-france', 'S’organiser suite à son retour en France'),
    ('thematique', 'trouver-un-emploi--convaincre-un-recruteur-en-entretien', 'Convaincre un recruteur en entretien'),
    ('thematique', 'trouver-un-emploi--faire-des-candidatures-spontanees', 'Faire des candidatures spontanées'),
    ('thematique', 'trouver-un-emploi--maintien-dans-lemploi', 'Maintien dans l’emploi'),
    ('thematique', 'trouver-un-emploi--repondre-a-des-offres-demploi', 'Répondre à des offres d’emploi'),
    ('thematique', 'trouver-un-emploi--suivre-ses-candidatures-et-relancer-les-employeurs', 'Suivre ses candidatures et relancer les employeurs'),
    ('categorie', 'choisir-un-metier', 'Choisir un métier'),
    ('categorie', 'creer-une-entreprise', 'Créer une entreprise'),
    ('categorie', 'difficultes-administratives-ou-juridiques', 'Difficultés administratives ou juridiques'),
    ('categorie', 'difficultes-financieres', 'Difficultés financières'),
    ('categorie', 'equipement-et-alimentation', 'Équipement et alimentation'),
    ('categorie', 'famille', 'Famille'),
    ('categorie', 'lecture-ecriture-calcul', 'Lecture, écriture et calcul'),
    ('categorie', 'logement-hebergement', 'Logement et hébergement'),
    ('categorie', 'mobilite', 'Mobilité'),
    ('categorie', 'numerique', 'Numérique'),
    ('categorie', 'preparer-sa-candidature', 'Préparer sa candidature'),
    ('categorie', 'remobilisation', 'Remobilisation'),
    ('categorie', 'sante', 'Santé'),
    ('categorie', 'se-former', 'Se former'),
    ('categorie', 'souvrir-a-linternational', 'S’ouvrir à l’international'),
    ('categorie', 'trouver-un-emploi', 'Trouver un emploi'),
    ('spie', 'logement-hebergement', 'Logement'),
    ('spie', 'lecture-ecriture-calcul', 'Illettrisme et illectronisme'),
    ('spie', 'numerique', 'Illettrisme et illectronisme'),
    ('spie', 'difficultes-financieres', 'Situation financière'),
    ('spie', 'equipement-et-alimentation', 'Situation financière'),
    ('spie', 'remobilisation', 'Sociabilisation et remobilisation'),
    ('spie', 'difficultes-administratives-ou-juridiques', 'Accès aux droits'),
    ('spie', 'trouver-un-emploi', 'Emploi et formation'),
    ('spie', 'choisir-un-metier', 'Emploi et formation'),
    ('spie', 'preparer-sa-candidature', 'Emploi et formation'),
    ('spie', 'se-former', 'Emploi et formation'),
    ('spie', 'souvrir-a-linternational', 'Emploi et formation'),
    ('spie', 'creer-une-entreprise', "Création d'entreprise"),
    ('spie', 'mobilite', 'Mobilité'),
    ('spie', 'famille', "Garde d'enfant"),
    ('spie', 'sante', 'Santé'),
    ('public', 'tous-publics', 'Tous publics'),
    ('public', 'actifs', 'Actifs'),
    ('public', 'beneficiaires-des-minimas-sociaux', 'Bénéficiaires des minimas sociaux'),
    ('public', 'demandeurs-emploi', 'Demandeurs d’emploi'),
    ('public', 'etudiants', 'Étudiants'),
    ('public', 'familles', 'Familles'),
    ('public', 'femmes', 'Femmes'),
    ('public', 'jeunes', 'Jeunes'),
    ('public', 'personnes-en-situation-de-handicap', 'Personnes en situation de handicap'),
    ('public', 'personnes-en-situation-durgence', 'Personnes en situation d’urgence'),
    ('public', 'personnes-en-situation-juridique-specifique', 'Personnes en situation juridique spécifique'),
    ('public', 'personnes-exilees', 'Personnes exilées'),
    ('public', 'residents-qpv-frr', 'Résidents en QPV ou FRR'),
    ('public', 'seniors', 'Séniors'),
    ('type', 'accompagnement', 'Accompagnement'),
    ('type', 'aide-financiere', 'Aide financière'),
    ('type', 'aide-materielle', 'Aide matérielle'),
    ('type', 'atelier', 'Atelier'),
    ('type', 'formation', 'Formation'),
    ('type', 'information', 'Information'),
]


def upgrade() -> None:
    op.create_table(
        "search_document",
        sa.Column("service_id", sa.UUID(), nullable=False),
        sa.Column("document", postgresql.TSVECTOR(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_search_document_service_id_service")
        ),
        sa.PrimaryKeyConstraint("service_id", name=op.f("pk_search_document")),
    )
    op.create_index(
        "ix_search_document_document", "search_document", ["document"], unique=False,
        postgresql_using="gin",
    )
    op.create_table(
        "search_word",
        sa.Column("word", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_search_word")),
    )
    op.create_index(
        "ix_search_word_word_trgm", "search_word", ["word"], unique=False,
        postgresql_using="gin", postgresql_ops={"word": "gin_trgm_ops"},
    )
    op.create_table(
        "search_label",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "code", name=op.f("pk_search_label")),
    )
    op.execute(FUNCTIONS)
    # search_label written as search.labels.refresh_labels did, from the frozen rows.
    bind = op.get_bind()
    bind.execute(
        sa.text("INSERT INTO search_label (kind, code, label) VALUES (:kind, :code, :label)"),
        [{"kind": kind, "code": code, "label": label} for kind, code, label in LABELS],
    )
    bind.execute(sa.text("SELECT search_add_words(string_agg(label, ' ')) FROM search_label"))
    # Existing catalogue (a database migrated after its data was loaded).
    op.execute("SELECT search_refresh(ARRAY(SELECT id FROM service))")


def downgrade() -> None:
    op.execute(DROP_FUNCTIONS)
    op.drop_table("search_label")
    op.drop_index("ix_search_word_word_trgm", table_name="search_word", postgresql_using="gin")
    op.drop_table("search_word")
    op.drop_index("ix_search_document_document", table_name="search_document", postgresql_using="gin")
    op.drop_table("search_document")
