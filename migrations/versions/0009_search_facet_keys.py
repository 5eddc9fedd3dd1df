"""search: facet keys and freshness date precomputed per service (generated columns)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The audit log keeps what people and imports wrote: the generated columns are left out.
AUDIT = r"""
CREATE OR REPLACE FUNCTION offre_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, n.id, 'insert', NULL,
         to_jsonb(n) - 'raw' - 'updated_at' - 'created_at'{extra}
  FROM new_rows n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION offre_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, d.id, 'update', d.b, d.a
  FROM (
    SELECT j.id,
           (SELECT jsonb_object_agg(k, j.oj -> k) FROM jsonb_object_keys(j.nj) k
             WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)) AS b,
           (SELECT jsonb_object_agg(k, j.nj -> k) FROM jsonb_object_keys(j.nj) k
             WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)) AS a
    FROM (
      SELECT n.id, to_jsonb(o) - 'raw' - 'updated_at'{extra} AS oj,
             to_jsonb(n) - 'raw' - 'updated_at'{extra} AS nj
      FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) j
  ) d
  WHERE d.a IS NOT NULL;
  RETURN NULL;
END $$;
"""
GENERATED = " - 'facet_keys' - 'fresh_date'"

# Frozen copies of what catalogue/facet_keys.py held at this revision: the per-row
# function (its VALUES: each known thematique's category and SPIE group keys, from
# the vocabulary of 2026-12-05), its arguments, and the freshness date expression.
ARGUMENTS = 'thematiques, publics, frais, type, modes_accueil, source'
SIGNATURE = 'search_facet_keys(text[], text[], text, text, text[], text)'
FRESH_DATE = (
    "coalesce(greatest(date_maj, (confirmed_at AT TIME ZONE 'Europe/Paris')::date), "
    "(created_at AT TIME ZONE 'Europe/Paris')::date)"
)
FACET_KEYS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION search_facet_keys(
    thematiques text[], publics text[], frais text, type text, modes_accueil text[], source text)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{}') FROM (
    SELECT 'thematiques:' || u.code AS k FROM unnest(thematiques) AS u(code)
    UNION ALL
    SELECT g.k FROM unnest(thematiques) AS u(code) JOIN (VALUES
      ('choisir-un-metier--confirmer-son-choix-de-metier', 'categories:choisir-un-metier'),
      ('choisir-un-metier--confirmer-son-choix-de-metier', 'thematiques_spie:emploi-formation'),
      ('choisir-un-metier--connaitre-les-opportunites-demploi', 'categories:choisir-un-metier'),
      ('choisir-un-metier--connaitre-les-opportunites-demploi', 'thematiques_spie:emploi-formation'),
      ('choisir-un-metier--decouvrir-un-metier-ou-un-secteur-dactivite', 'categories:choisir-un-metier'),
      ('choisir-un-metier--decouvrir-un-metier-ou-un-secteur-dactivite', 'thematiques_spie:emploi-formation'),
      ('choisir-un-metier--identifier-ses-points-forts-et-ses-competences', 'categories:choisir-un-metier'),
      ('choisir-un-metier--identifier-ses-points-forts-et-ses-competences', 'thematiques_spie:emploi-formation'),
      ('creer-une-entreprise--definir-son-projet-de-creation-dentreprise', 'categories:creer-une-entreprise'),
      ('creer-une-entreprise--definir-son-projet-de-creation-dentreprise', 'thematiques_spie:creation-entreprise'),
      ('creer-une-entreprise--developper-son-entreprise', 'categories:creer-une-entreprise'),
      ('creer-une-entreprise--developper-son-entreprise', 'thematiques_spie:creation-entreprise'),
      ('creer-une-entreprise--structurer-son-projet-de-creation-dentreprise', 'categories:creer-une-entreprise'),
      ('creer-une-entreprise--structurer-son-projet-de-creation-dentreprise', 'thematiques_spie:creation-entreprise'),
      ('difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives', 'categories:difficultes-administratives-ou-juridiques'),
      ('difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives', 'thematiques_spie:acces-aux-droits'),
      ('difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-a-la-citoyennete', 'categories:difficultes-administratives-ou-juridiques'),
      ('difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-a-la-citoyennete', 'thematiques_spie:acces-aux-droits'),
      ('difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits', 'categories:difficultes-administratives-ou-juridiques'),
      ('difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits', 'thematiques_spie:acces-aux-droits'),
      ('difficultes-administratives-ou-juridiques--beneficier-dune-mesure-daccompagnement-adapte', 'categories:difficultes-administratives-ou-juridiques'),
      ('difficultes-administratives-ou-juridiques--beneficier-dune-mesure-daccompagnement-adapte', 'thematiques_spie:acces-aux-droits'),
      ('difficultes-administratives-ou-juridiques--connaitre-ses-droits-face-a-une-discrimination', 'categories:difficultes-administratives-ou-juridiques'),
      ('difficultes-administratives-ou-juridiques--connaitre-ses-droits-face-a-une-discrimination', 'thematiques_spie:acces-aux-droits'),
      ('difficultes-administratives-ou-juridiques--prendre-en-compte-une-problematique-judiciaire', 'categories:difficultes-administratives-ou-juridiques'),
      ('difficultes-administratives-ou-juridiques--prendre-en-compte-une-problematique-judiciaire', 'thematiques_spie:acces-aux-droits'),
      ('difficultes-financieres--acquerir-une-autonomie-budgetaire', 'categories:difficultes-financieres'),
      ('difficultes-financieres--acquerir-une-autonomie-budgetaire', 'thematiques_spie:situation-financiere'),
      ('difficultes-financieres--ameliorer-sa-gestion-budgetaire', 'categories:difficultes-financieres'),
      ('difficultes-financieres--ameliorer-sa-gestion-budgetaire', 'thematiques_spie:situation-financiere'),
      ('difficultes-financieres--mettre-en-place-une-mesure-de-protection-financiere', 'categories:difficultes-financieres'),
      ('difficultes-financieres--mettre-en-place-une-mesure-de-protection-financiere', 'thematiques_spie:situation-financiere'),
      ('difficultes-financieres--prevenir-une-degradation-de-la-situation-financiere', 'categories:difficultes-financieres'),
      ('difficultes-financieres--prevenir-une-degradation-de-la-situation-financiere', 'thematiques_spie:situation-financiere'),
      ('difficultes-financieres--situation-dendettement-surendettement', 'categories:difficultes-financieres'),
      ('difficultes-financieres--situation-dendettement-surendettement', 'thematiques_spie:situation-financiere'),
      ('equipement-et-alimentation--aide-menagere', 'categories:equipement-et-alimentation'),
      ('equipement-et-alimentation--aide-menagere', 'thematiques_spie:situation-financiere'),
      ('equipement-et-alimentation--alimentation', 'categories:equipement-et-alimentation'),
      ('equipement-et-alimentation--alimentation', 'thematiques_spie:situation-financiere'),
      ('equipement-et-alimentation--electromenager', 'categories:equipement-et-alimentation'),
      ('equipement-et-alimentation--electromenager', 'thematiques_spie:situation-financiere'),
      ('equipement-et-alimentation--habillement', 'categories:equipement-et-alimentation'),
      ('equipement-et-alimentation--habillement', 'thematiques_spie:situation-financiere'),
      ('famille--garde-denfants', 'categories:famille'),
      ('famille--garde-denfants', 'thematiques_spie:garde-enfant-famille'),
      ('famille--prise-en-charge-personne-dependante', 'categories:famille'),
      ('famille--prise-en-charge-personne-dependante', 'thematiques_spie:garde-enfant-famille'),
      ('famille--soutien-a-la-parentalite-et-a-leducation', 'categories:famille'),
      ('famille--soutien-a-la-parentalite-et-a-leducation', 'thematiques_spie:garde-enfant-famille'),
      ('famille--soutien-aidants', 'categories:famille'),
      ('famille--soutien-aidants', 'thematiques_spie:garde-enfant-famille'),
      ('famille--surmonter-conflits-separation-violence', 'categories:famille'),
      ('famille--surmonter-conflits-separation-violence', 'thematiques_spie:garde-enfant-famille'),
      ('lecture-ecriture-calcul--maitriser-le-calcul', 'categories:lecture-ecriture-calcul'),
      ('lecture-ecriture-calcul--maitriser-le-calcul', 'thematiques_spie:illettrisme-illectronisme'),
      ('lecture-ecriture-calcul--maitriser-le-francais', 'categories:lecture-ecriture-calcul'),
      ('lecture-ecriture-calcul--maitriser-le-francais', 'thematiques_spie:illettrisme-illectronisme'),
      ('logement-hebergement--acheter-un-logement', 'categories:logement-hebergement'),
      ('logement-hebergement--acheter-un-logement', 'thematiques_spie:logement'),
      ('logement-hebergement--changer-de-logement', 'categories:logement-hebergement'),
      ('logement-hebergement--changer-de-logement', 'thematiques_spie:logement'),
      ('logement-hebergement--louer-un-logement', 'categories:logement-hebergement'),
      ('logement-hebergement--louer-un-logement', 'thematiques_spie:logement'),
      ('logement-hebergement--rechercher-une-solution-dhebergement-temporaire', 'categories:logement-hebergement'),
      ('logement-hebergement--rechercher-une-solution-dhebergement-temporaire', 'thematiques_spie:logement'),
      ('logement-hebergement--reduire-les-impayes-de-loyer', 'categories:logement-hebergement'),
      ('logement-hebergement--reduire-les-impayes-de-loyer', 'thematiques_spie:logement'),
      ('logement-hebergement--se-maintenir-dans-le-logement', 'categories:logement-hebergement'),
      ('logement-hebergement--se-maintenir-dans-le-logement', 'thematiques_spie:logement'),
      ('logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement', 'categories:logement-hebergement'),
      ('logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement', 'thematiques_spie:logement'),
      ('mobilite--acceder-a-un-vehicule', 'categories:mobilite'),
      ('mobilite--acceder-a-un-vehicule', 'thematiques_spie:mobilite'),
      ('mobilite--entretenir-reparer-son-vehicule', 'categories:mobilite'),
      ('mobilite--entretenir-reparer-son-vehicule', 'thematiques_spie:mobilite'),
      ('mobilite--etre-accompagne-dans-son-parcours-mobilite', 'categories:mobilite'),
      ('mobilite--etre-accompagne-dans-son-parcours-mobilite', 'thematiques_spie:mobilite'),
      ('mobilite--financer-ma-mobilite', 'categories:mobilite'),
      ('mobilite--financer-ma-mobilite', 'thematiques_spie:mobilite'),
      ('mobilite--mobilite-douce-partagee-collective', 'categories:mobilite'),
      ('mobilite--mobilite-douce-partagee-collective', 'thematiques_spie:mobilite'),
      ('mobilite--preparer-un-permis', 'categories:mobilite'),
      ('mobilite--preparer-un-permis', 'thematiques_spie:mobilite'),
      ('numerique--acceder-a-des-services-en-ligne', 'categories:numerique'),
      ('numerique--acceder-a-des-services-en-ligne', 'thematiques_spie:illettrisme-illectronisme'),
      ('numerique--acceder-a-une-connexion-internet', 'categories:numerique'),
      ('numerique--acceder-a-une-connexion-internet', 'thematiques_spie:illettrisme-illectronisme'),
      ('numerique--acquerir-un-equipement', 'categories:numerique'),
      ('numerique--acquerir-un-equipement', 'thematiques_spie:illettrisme-illectronisme'),
      ('numerique--maitriser-les-fondamentaux-du-numerique', 'categories:numerique'),
      ('numerique--maitriser-les-fondamentaux-du-numerique', 'thematiques_spie:illettrisme-illectronisme'),
      ('preparer-sa-candidature--developper-son-reseau', 'categories:preparer-sa-candidature'),
      ('preparer-sa-candidature--developper-son-reseau', 'thematiques_spie:emploi-formation'),
      ('preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi', 'categories:preparer-sa-candidature'),
      ('preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi', 'thematiques_spie:emploi-formation'),
      ('preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation', 'categories:preparer-sa-candidature'),
      ('preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation', 'thematiques_spie:emploi-formation'),
      ('preparer-sa-candidature--valoriser-ses-competences', 'categories:preparer-sa-candidature'),
      ('preparer-sa-candidature--valoriser-ses-competences', 'thematiques_spie:emploi-formation'),
      ('remobilisation--activites-sportives-et-culturelles', 'categories:remobilisation'),
      ('remobilisation--activites-sportives-et-culturelles', 'thematiques_spie:sociabilisation-remobilisation'),
      ('remobilisation--benevolat-action-citoyenne', 'categories:remobilisation'),
      ('remobilisation--benevolat-action-citoyenne', 'thematiques_spie:sociabilisation-remobilisation'),
      ('remobilisation--bien-etre-confiance-en-soi', 'categories:remobilisation'),
      ('remobilisation--bien-etre-confiance-en-soi', 'thematiques_spie:sociabilisation-remobilisation'),
      ('remobilisation--lien-social', 'categories:remobilisation'),
      ('remobilisation--lien-social', 'thematiques_spie:sociabilisation-remobilisation'),
      ('sante--acces-aux-soins', 'categories:sante'),
      ('sante--acces-aux-soins', 'thematiques_spie:sante'),
      ('sante--addictions', 'categories:sante'),
      ('sante--addictions', 'thematiques_spie:sante'),
      ('sante--constituer-un-dossier-mdph-invalidite', 'categories:sante'),
      ('sante--constituer-un-dossier-mdph-invalidite', 'thematiques_spie:sante'),
      ('sante--sante-mentale', 'categories:sante'),
      ('sante--sante-mentale', 'thematiques_spie:sante'),
      ('sante--sante-sexuelle', 'categories:sante'),
      ('sante--sante-sexuelle', 'thematiques_spie:sante'),
      ('se-former--monter-son-dossier-de-formation', 'categories:se-former'),
      ('se-former--monter-son-dossier-de-formation', 'thematiques_spie:emploi-formation'),
      ('se-former--trouver-sa-formation', 'categories:se-former'),
      ('se-former--trouver-sa-formation', 'thematiques_spie:emploi-formation'),
      ('souvrir-a-linternational--connaitre-les-opportunites-demploi-a-letranger', 'categories:souvrir-a-linternational'),
      ('souvrir-a-linternational--connaitre-les-opportunites-demploi-a-letranger', 'thematiques_spie:emploi-formation'),
      ('souvrir-a-linternational--sinformer-sur-les-aides-pour-travailler-a-letranger', 'categories:souvrir-a-linternational'),
      ('souvrir-a-linternational--sinformer-sur-les-aides-pour-travailler-a-letranger', 'thematiques_spie:emploi-formation'),
      ('souvrir-a-linternational--sorganiser-suite-a-son-retour-en-france', 'categories:souvrir-a-linternational'),
      ('souvrir-a-linternational--sorganiser-suite-a-son-retour-en-france', 'thematiques_spie:emploi-formation'),
      ('trouver-un-emploi--convaincre-un-recruteur-en-entretien', 'categories:trouver-un-emploi'),
      ('trouver-un-emploi--convaincre-un-recruteur-en-entretien', 'thematiques_spie:emploi-formation'),
      ('trouver-un-emploi--faire-des-candidatures-spontanees', 'categories:trouver-un-emploi'),
      ('trouver-un-emploi--faire-des-candidatures-spontanees', 'thematiques_spie:emploi-formation'),
      ('trouver-un-emploi--maintien-dans-lemploi', 'categories:trouver-un-emploi'),
      ('trouver-un-emploi--maintien-dans-lemploi', 'thematiques_spie:emploi-formation'),
      ('trouver-un-emploi--repondre-a-des-offres-demploi', 'categories:trouver-un-emploi'),
      ('trouver-un-emploi--repondre-a-des-offres-demploi', 'thematiques_spie:emploi-formation'),
      ('trouver-un-emploi--suivre-ses-candidatures-et-relancer-les-employeurs', 'categories:trouver-un-emploi'),
      ('trouver-un-emploi--suivre-ses-candidatures-et-relancer-les-employeurs', 'thematiques_spie:emploi-formation')
    ) AS g(code, k) ON g.code = u.code
    UNION ALL SELECT 'publics:' || u.code FROM unnest(publics) AS u(code)
    UNION ALL SELECT 'frais:' || frais WHERE frais IS NOT NULL
    UNION ALL SELECT 'types:' || type WHERE type IS NOT NULL
    UNION ALL SELECT 'sources:' || source WHERE source IS NOT NULL
    UNION ALL SELECT 'modes_accueil:a-distance' WHERE 'a-distance' = ANY (modes_accueil)
    UNION ALL SELECT 'modes_accueil:en-presentiel'
              WHERE modes_accueil = '{}' OR 'en-presentiel' = ANY (modes_accueil)
  ) keys
$$;
"""


def upgrade() -> None:
    op.execute(AUDIT.format(extra=GENERATED))
    op.execute(FACET_KEYS_FUNCTION)
    op.add_column(
        "service",
        sa.Column(
            "facet_keys",
            postgresql.ARRAY(sa.Text()),
            sa.Computed(f"search_facet_keys({ARGUMENTS})", persisted=True),
            nullable=True,
        ),
    )
    op.add_column(
        "service",
        sa.Column("fresh_date", sa.Date(), sa.Computed(FRESH_DATE, persisted=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("service", "fresh_date")
    op.drop_column("service", "facet_keys")
    op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
    op.execute(AUDIT.format(extra=""))
