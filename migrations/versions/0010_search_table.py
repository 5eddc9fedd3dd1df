"""search: search_document becomes the narrow search table (filters, place, facet key ids)

Revision ID: 0010
Revises: 0009

Every search reads search_document alone (no join with the wide service rows nor
the structure table): visibility, duplicate flag, eligibility zone (its codes
prefixed `r:` for a service offered remotely, `p:` for one on site only, `*` for an
empty zone, so that one GIN index finds the remote services a commune is eligible
to and the on-site ones whose place is then checked), reach, place,
freshness, and the facet keys as integer ids (table search_key), which also carry
the filters (one GIN index). Label vectors are computed once per key
(search_key.vector) and concatenated per service instead of stemming the labels of
every service. The audit triggers drop the left-out columns in one jsonb copy.
See docs/architecture.md, « Moteur de recherche PostgreSQL ».
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FUNCTIONS = r"""
CREATE AGGREGATE tsvector_agg(tsvector) (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '');

-- The keys of these services, as text (`<facet>:<value>`, see
-- catalogue/facet_keys.py): set-based, one hash join with the vocabulary's
-- thematique -> category / SPIE group table for the whole batch (a function called
-- for each row cost 80 µs per service).
CREATE FUNCTION search_named_keys(ids uuid[]) RETURNS TABLE (service_id uuid, key text)
LANGUAGE sql STABLE AS $$
  WITH s AS MATERIALIZED (
    SELECT s.id, s.thematiques, s.publics, s.mobilisable_par, s.frais, s.type, s.source, s.modes_accueil
    FROM unnest(ids) AS i(id) JOIN service s ON s.id = i.id
  )
  SELECT DISTINCT id, k FROM (
    SELECT s.id, 'thematiques:' || t FROM s, unnest(s.thematiques) t
    UNION ALL SELECT s.id, g.key FROM s, unnest(s.thematiques) t JOIN search_thematique_key g ON g.thematique = t
    UNION ALL SELECT s.id, 'publics:' || p FROM s, unnest(s.publics) p
    UNION ALL SELECT s.id, 'mobilisable_par:' || m FROM s, unnest(s.mobilisable_par) m
    UNION ALL SELECT s.id, 'frais:' || s.frais FROM s
    UNION ALL SELECT s.id, 'types:' || s.type FROM s
    UNION ALL SELECT s.id, 'sources:' || s.source FROM s
    UNION ALL SELECT s.id, 'modes_accueil:a-distance' FROM s WHERE 'a-distance' = ANY (s.modes_accueil)
    UNION ALL SELECT s.id, 'modes_accueil:en-presentiel' FROM s
              WHERE s.modes_accueil = '{}' OR 'en-presentiel' = ANY (s.modes_accueil)
  ) named(id, k)
  WHERE k IS NOT NULL
$$;

-- Write the search rows of these services; returns the ids of those that have a
-- key without an id yet (their rows are written without it).
-- The ids are joined, never tested with = ANY (a parameter array is searched
-- linearly for each row: quadratic for a whole catalogue). Keys and label vectors
-- come from one join with search_key for the batch: the labels are stemmed once
-- per key (search_key.vector), not once per service.
CREATE FUNCTION search_refresh_rows(ids uuid[]) RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
  incomplete uuid[];
BEGIN
  WITH src AS MATERIALIZED (
    SELECT s.id, s.nom, st.nom AS structure_nom, s.description, s.modes_accueil,
           s.zone_eligibilite, s.location, s.structure_id, s.code_insee, s.fresh_date,
           s.status = 'publie' AND st.status = 'publie' AS visible,
           s.duplicate_of_id IS NOT NULL AS duplicate
    FROM unnest(ids) AS i(id)
    JOIN service s ON s.id = i.id
    JOIN structure st ON st.id = s.structure_id
  ),
  keyed AS MATERIALIZED (
    SELECT n.service_id AS id,
           coalesce(array_agg(k.id ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL), '{}') AS keys,
           tsvector_agg(k.vector ORDER BY k.id) FILTER (WHERE k.vector IS NOT NULL) AS labels,
           bool_or(k.id IS NULL) AS incomplete
    FROM search_named_keys(ids) n LEFT JOIN search_key k ON k.key = n.key
    GROUP BY n.service_id
  ),
  documents AS (
    INSERT INTO search_document AS d (service_id, document, visible, duplicate, remote, on_site,
                                      zone, x, y, z, structure_id, code_insee, fresh_date, keys)
    SELECT src.id,
           setweight(to_tsvector('french_unaccent', coalesce(src.nom, '') || ' ' || coalesce(src.structure_nom, '')), 'A')
        || setweight(coalesce(kk.labels, ''), 'B')
        || setweight(to_tsvector('french_unaccent', coalesce(src.description, '')), 'C'),
           src.visible, src.duplicate,
           'a-distance' = ANY (src.modes_accueil),
           src.modes_accueil = '{}' OR 'en-presentiel' = ANY (src.modes_accueil),
           ARRAY(SELECT CASE WHEN 'a-distance' = ANY (src.modes_accueil) THEN 'r:' ELSE 'p:' END || z
                 FROM unnest(CASE WHEN src.zone_eligibilite = '{}' THEN ARRAY['*']
                                  ELSE src.zone_eligibilite END) AS z)
           -- The grid cell of an on-site place (search.postgres.GRID_DEGREES).
           || CASE WHEN src.location IS NOT NULL AND NOT 'a-distance' = ANY (src.modes_accueil)
                   THEN ARRAY['g:' || floor(ST_Y(src.location::geometry) / 0.25) || ':'
                              || floor(ST_X(src.location::geometry) / 0.25)]
                   ELSE '{}' END,
           cos(radians(ST_Y(src.location::geometry))) * cos(radians(ST_X(src.location::geometry))),
           cos(radians(ST_Y(src.location::geometry))) * sin(radians(ST_X(src.location::geometry))),
           sin(radians(ST_Y(src.location::geometry))),
           src.structure_id, src.code_insee, src.fresh_date, coalesce(kk.keys, '{}')
    FROM src LEFT JOIN keyed kk ON kk.id = src.id
    ON CONFLICT (service_id) DO UPDATE SET
      document = EXCLUDED.document, visible = EXCLUDED.visible, duplicate = EXCLUDED.duplicate,
      remote = EXCLUDED.remote, on_site = EXCLUDED.on_site, zone = EXCLUDED.zone,
      x = EXCLUDED.x, y = EXCLUDED.y, z = EXCLUDED.z,
      structure_id = EXCLUDED.structure_id,
      code_insee = EXCLUDED.code_insee, fresh_date = EXCLUDED.fresh_date, keys = EXCLUDED.keys
  ),
  -- Words of the names (each distinct name once) for typo correction: one string,
  -- unaccented and split once (twice as fast as a call per name).
  words AS (
    INSERT INTO search_word (word)
    SELECT DISTINCT w
    FROM regexp_split_to_table(lower(f_unaccent(
           (SELECT string_agg(n, ' ') FROM (SELECT nom FROM src UNION SELECT structure_nom FROM src) names(n))
         )), '[^a-z0-9]+') w
    WHERE length(w) >= 3
    ON CONFLICT DO NOTHING
  )
  SELECT array_agg(id) INTO incomplete FROM keyed WHERE keyed.incomplete;
  RETURN incomplete;
END $$;

-- (Re)compute the search rows of the given services. Keys seen for the first time
-- (a new source, a code outside the vocabulary) get their id, then those rows are
-- written again.
CREATE OR REPLACE FUNCTION search_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  incomplete uuid[];
BEGIN
  incomplete := search_refresh_rows(ids);
  IF incomplete IS NOT NULL THEN
    INSERT INTO search_key (key) SELECT DISTINCT key FROM search_named_keys(incomplete)
    ON CONFLICT (key) DO NOTHING;
    PERFORM search_refresh_rows(incomplete);
  END IF;
END $$;

"""

OLD_FUNCTIONS = r"""
DROP FUNCTION IF EXISTS search_refresh_rows(uuid[]);
DROP FUNCTION IF EXISTS search_named_keys(uuid[]);
DROP AGGREGATE IF EXISTS tsvector_agg(tsvector);

CREATE OR REPLACE FUNCTION search_refresh(ids uuid[]) RETURNS void LANGUAGE plpgsql AS $$
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
"""

# The services of the structures whose listed columns changed get their rows again.
STRUCTURE_CHANGED = r"""
CREATE OR REPLACE FUNCTION search_structure_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM search_refresh(ARRAY(
    SELECT s.id FROM service s
    JOIN changed c ON c.id = s.structure_id
    JOIN before b ON b.id = c.id
    WHERE {changed}));
  RETURN NULL;
END $$;
"""


def _structure_changed(*columns: str) -> str:
    return STRUCTURE_CHANGED.format(changed=" OR ".join(f"c.{c} IS DISTINCT FROM b.{c}" for c in columns))


# The audit log leaves out the raw payload, the timestamps and the generated columns.
AUDIT = r"""
CREATE OR REPLACE FUNCTION offre_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, n.id, 'insert', NULL,
         to_jsonb(n) {drop_inserted}
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
      SELECT n.id, to_jsonb(o) {drop_updated} AS oj, to_jsonb(n) {drop_updated} AS nj
      FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) j
  ) d
  WHERE d.a IS NOT NULL;
  RETURN NULL;
END $$;
"""


def _audit(inserted: list[str], updated: list[str], *, one_copy: bool) -> str:
    """The audit functions dropping these keys: in one jsonb copy (this migration),
    or one copy per key (as 0009 wrote them, for the downgrade)."""

    def drop(keys: list[str]) -> str:
        if one_copy:
            return "- '{" + ",".join(keys) + "}'::text[]"
        return " ".join(f"- '{k}'" for k in keys)

    return AUDIT.format(drop_inserted=drop(inserted), drop_updated=drop(updated))


LEFT_OUT_INSERT = ["raw", "updated_at", "created_at", "facet_keys", "fresh_date"]
LEFT_OUT_UPDATE = ["raw", "updated_at", "facet_keys", "fresh_date"]


# The vocabulary's keys as search.labels.refresh_keys wrote them on 2026-12-05
# (data-inclusion-schema v1 and catalogue/spie_thematiques.json), frozen: `offre
# search rebuild` rewrites them from the vocabulary of its day. Each thematique:
# its label, then its category and SPIE group keys (search_thematique_key).
THEMATIQUES = """
choisir-un-metier--confirmer-son-choix-de-metier | Confirmer son choix de métier | categories:choisir-un-metier thematiques_spie:emploi-formation
choisir-un-metier--connaitre-les-opportunites-demploi | Connaître les opportunités d’emploi | categories:choisir-un-metier thematiques_spie:emploi-formation
choisir-un-metier--decouvrir-un-metier-ou-un-secteur-dactivite | Découvrir un métier ou un secteur d’activité | categories:choisir-un-metier thematiques_spie:emploi-formation
choisir-un-metier--identifier-ses-points-forts-et-ses-competences | Identifier ses points forts et ses compétences | categories:choisir-un-metier thematiques_spie:emploi-formation
creer-une-entreprise--definir-son-projet-de-creation-dentreprise | Définir son projet de création d’entreprise | categories:creer-une-entreprise thematiques_spie:creation-entreprise
creer-une-entreprise--developper-son-entreprise | Développer son entreprise | categories:creer-une-entreprise thematiques_spie:creation-entreprise
creer-une-entreprise--structurer-son-projet-de-creation-dentreprise | Structurer son projet de création d’entreprise | categories:creer-une-entreprise thematiques_spie:creation-entreprise
difficultes-administratives-ou-juridiques--accompagnement-aux-demarches-administratives | Accompagnement aux démarches administratives | categories:difficultes-administratives-ou-juridiques thematiques_spie:acces-aux-droits
difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-a-la-citoyennete | Accompagnement pour l’accès à la citoyenneté | categories:difficultes-administratives-ou-juridiques thematiques_spie:acces-aux-droits
difficultes-administratives-ou-juridiques--accompagnement-pour-lacces-aux-droits | Accompagnement pour l’accès aux droits | categories:difficultes-administratives-ou-juridiques thematiques_spie:acces-aux-droits
difficultes-administratives-ou-juridiques--beneficier-dune-mesure-daccompagnement-adapte | Bénéficier d’une mesure d’accompagnement adapté | categories:difficultes-administratives-ou-juridiques thematiques_spie:acces-aux-droits
difficultes-administratives-ou-juridiques--connaitre-ses-droits-face-a-une-discrimination | Connaître ses droits face à une discrimination | categories:difficultes-administratives-ou-juridiques thematiques_spie:acces-aux-droits
difficultes-administratives-ou-juridiques--prendre-en-compte-une-problematique-judiciaire | Prendre en compte une problématique judiciaire | categories:difficultes-administratives-ou-juridiques thematiques_spie:acces-aux-droits
difficultes-financieres--acquerir-une-autonomie-budgetaire | Acquérir une autonomie budgétaire | categories:difficultes-financieres thematiques_spie:situation-financiere
difficultes-financieres--ameliorer-sa-gestion-budgetaire | Améliorer sa gestion budgétaire | categories:difficultes-financieres thematiques_spie:situation-financiere
difficultes-financieres--mettre-en-place-une-mesure-de-protection-financiere | Mettre en place une mesure de protection financière | categories:difficultes-financieres thematiques_spie:situation-financiere
difficultes-financieres--prevenir-une-degradation-de-la-situation-financiere | Prévenir une dégradation de la situation financière | categories:difficultes-financieres thematiques_spie:situation-financiere
difficultes-financieres--situation-dendettement-surendettement | Situation d’endettement ou de surendettement | categories:difficultes-financieres thematiques_spie:situation-financiere
equipement-et-alimentation--aide-menagere | Aide ménagère | categories:equipement-et-alimentation thematiques_spie:situation-financiere
equipement-et-alimentation--alimentation | Alimentation | categories:equipement-et-alimentation thematiques_spie:situation-financiere
equipement-et-alimentation--electromenager | Électroménager | categories:equipement-et-alimentation thematiques_spie:situation-financiere
equipement-et-alimentation--habillement | Habillement | categories:equipement-et-alimentation thematiques_spie:situation-financiere
famille--garde-denfants | Garde d’enfants | categories:famille thematiques_spie:garde-enfant-famille
famille--prise-en-charge-personne-dependante | Prise en charge d’une personne dépendante | categories:famille thematiques_spie:garde-enfant-famille
famille--soutien-a-la-parentalite-et-a-leducation | Soutien à la parentalité et à l’éducation | categories:famille thematiques_spie:garde-enfant-famille
famille--soutien-aidants | Soutien aux aidants | categories:famille thematiques_spie:garde-enfant-famille
famille--surmonter-conflits-separation-violence | Surmonter les conflits liés à la séparation ou à la violence | categories:famille thematiques_spie:garde-enfant-famille
lecture-ecriture-calcul--maitriser-le-calcul | Maîtriser le calcul | categories:lecture-ecriture-calcul thematiques_spie:illettrisme-illectronisme
lecture-ecriture-calcul--maitriser-le-francais | Maîtriser le français | categories:lecture-ecriture-calcul thematiques_spie:illettrisme-illectronisme
logement-hebergement--acheter-un-logement | Acheter un logement | categories:logement-hebergement thematiques_spie:logement
logement-hebergement--changer-de-logement | Changer de logement | categories:logement-hebergement thematiques_spie:logement
logement-hebergement--louer-un-logement | Louer un logement | categories:logement-hebergement thematiques_spie:logement
logement-hebergement--rechercher-une-solution-dhebergement-temporaire | Rechercher une solution d’hébergement temporaire | categories:logement-hebergement thematiques_spie:logement
logement-hebergement--reduire-les-impayes-de-loyer | Réduire les impayés de loyer | categories:logement-hebergement thematiques_spie:logement
logement-hebergement--se-maintenir-dans-le-logement | Se maintenir dans le logement | categories:logement-hebergement thematiques_spie:logement
logement-hebergement--sinformer-sur-les-demarches-liees-a-lacces-au-logement | S’informer sur les démarches liées à l’accès au logement | categories:logement-hebergement thematiques_spie:logement
mobilite--acceder-a-un-vehicule | Accéder à un véhicule | categories:mobilite thematiques_spie:mobilite
mobilite--entretenir-reparer-son-vehicule | Entretenir et réparer son véhicule | categories:mobilite thematiques_spie:mobilite
mobilite--etre-accompagne-dans-son-parcours-mobilite | Être accompagné dans son parcours mobilité | categories:mobilite thematiques_spie:mobilite
mobilite--financer-ma-mobilite | Financer ma mobilité | categories:mobilite thematiques_spie:mobilite
mobilite--preparer-un-permis | Préparer un permis | categories:mobilite thematiques_spie:mobilite
mobilite--mobilite-douce-partagee-collective | Utiliser des services de mobilité douce, partagée ou collective | categories:mobilite thematiques_spie:mobilite
numerique--acceder-a-des-services-en-ligne | Accéder à des services en ligne | categories:numerique thematiques_spie:illettrisme-illectronisme
numerique--acceder-a-une-connexion-internet | Accéder à une connexion Internet | categories:numerique thematiques_spie:illettrisme-illectronisme
numerique--acquerir-un-equipement | Acquérir un équipement | categories:numerique thematiques_spie:illettrisme-illectronisme
numerique--maitriser-les-fondamentaux-du-numerique | Maîtriser les fondamentaux du numérique | categories:numerique thematiques_spie:illettrisme-illectronisme
preparer-sa-candidature--developper-son-reseau | Développer son réseau | categories:preparer-sa-candidature thematiques_spie:emploi-formation
preparer-sa-candidature--organiser-ses-demarches-de-recherche-demploi | Organiser ses démarches de recherche d’emploi | categories:preparer-sa-candidature thematiques_spie:emploi-formation
preparer-sa-candidature--realiser-un-cv-et-ou-une-lettre-de-motivation | Réaliser un CV et/ou une lettre de motivation | categories:preparer-sa-candidature thematiques_spie:emploi-formation
preparer-sa-candidature--valoriser-ses-competences | Valoriser ses compétences | categories:preparer-sa-candidature thematiques_spie:emploi-formation
remobilisation--activites-sportives-et-culturelles | Activités sportives et culturelles | categories:remobilisation thematiques_spie:sociabilisation-remobilisation
remobilisation--benevolat-action-citoyenne | Bénévolat et action citoyenne | categories:remobilisation thematiques_spie:sociabilisation-remobilisation
remobilisation--bien-etre-confiance-en-soi | Bien-être et confiance en soi | categories:remobilisation thematiques_spie:sociabilisation-remobilisation
remobilisation--lien-social | Lien social | categories:remobilisation thematiques_spie:sociabilisation-remobilisation
sante--acces-aux-soins | Accès aux soins | categories:sante thematiques_spie:sante
sante--addictions | Addictions | categories:sante thematiques_spie:sante
sante--constituer-un-dossier-mdph-invalidite | Constituer un dossier MDPH pour invalidité | categories:sante thematiques_spie:sante
sante--sante-mentale | Santé mentale | categories:sante thematiques_spie:sante
sante--sante-sexuelle | Santé sexuelle | categories:sante thematiques_spie:sante
se-former--monter-son-dossier-de-formation | Monter son dossier de formation | categories:se-former thematiques_spie:emploi-formation
se-former--trouver-sa-formation | Trouver sa formation | categories:se-former thematiques_spie:emploi-formation
souvrir-a-linternational--connaitre-les-opportunites-demploi-a-letranger | Connaître les opportunités d’emploi à l’étranger | categories:souvrir-a-linternational thematiques_spie:emploi-formation
souvrir-a-linternational--sinformer-sur-les-aides-pour-travailler-a-letranger | S’informer sur les aides pour travailler à l’étranger | categories:souvrir-a-linternational thematiques_spie:emploi-formation
souvrir-a-linternational--sorganiser-suite-a-son-retour-en-france | S’organiser suite à son retour en France | categories:souvrir-a-linternational thematiques_spie:emploi-formation
trouver-un-emploi--convaincre-un-recruteur-en-entretien | Convaincre un recruteur en entretien | categories:trouver-un-emploi thematiques_spie:emploi-formation
trouver-un-emploi--faire-des-candidatures-spontanees | Faire des candidatures spontanées | categories:trouver-un-emploi thematiques_spie:emploi-formation
trouver-un-emploi--maintien-dans-lemploi | Maintien dans l’emploi | categories:trouver-un-emploi thematiques_spie:emploi-formation
trouver-un-emploi--repondre-a-des-offres-demploi | Répondre à des offres d’emploi | categories:trouver-un-emploi thematiques_spie:emploi-formation
trouver-un-emploi--suivre-ses-candidatures-et-relancer-les-employeurs | Suivre ses candidatures et relancer les employeurs | categories:trouver-un-emploi thematiques_spie:emploi-formation
"""
# The other keys, in the order they were registered (search_key.id), with their
# label, then those without one (no vector).
OTHER_KEYS = """
categories:choisir-un-metier | Choisir un métier
categories:creer-une-entreprise | Créer une entreprise
categories:difficultes-administratives-ou-juridiques | Difficultés administratives ou juridiques
categories:difficultes-financieres | Difficultés financières
categories:equipement-et-alimentation | Équipement et alimentation
categories:famille | Famille
categories:lecture-ecriture-calcul | Lecture, écriture et calcul
categories:logement-hebergement | Logement et hébergement
categories:mobilite | Mobilité
categories:numerique | Numérique
categories:preparer-sa-candidature | Préparer sa candidature
categories:remobilisation | Remobilisation
categories:sante | Santé
categories:se-former | Se former
categories:souvrir-a-linternational | S’ouvrir à l’international
categories:trouver-un-emploi | Trouver un emploi
thematiques_spie:logement | Logement
thematiques_spie:illettrisme-illectronisme | Illettrisme et illectronisme
thematiques_spie:situation-financiere | Situation financière
thematiques_spie:sociabilisation-remobilisation | Sociabilisation et remobilisation
thematiques_spie:acces-aux-droits | Accès aux droits
thematiques_spie:emploi-formation | Emploi et formation
thematiques_spie:creation-entreprise | Création d'entreprise
thematiques_spie:mobilite | Mobilité
thematiques_spie:garde-enfant-famille | Garde d'enfant
thematiques_spie:sante | Santé
publics:tous-publics | Tous publics
publics:actifs | Actifs
publics:beneficiaires-des-minimas-sociaux | Bénéficiaires des minimas sociaux
publics:demandeurs-emploi | Demandeurs d’emploi
publics:etudiants | Étudiants
publics:familles | Familles
publics:femmes | Femmes
publics:jeunes | Jeunes
publics:personnes-en-situation-de-handicap | Personnes en situation de handicap
publics:personnes-en-situation-durgence | Personnes en situation d’urgence
publics:personnes-en-situation-juridique-specifique | Personnes en situation juridique spécifique
publics:personnes-exilees | Personnes exilées
publics:residents-qpv-frr | Résidents en QPV ou FRR
publics:seniors | Séniors
types:accompagnement | Accompagnement
types:aide-financiere | Aide financière
types:aide-materielle | Aide matérielle
types:atelier | Atelier
types:formation | Formation
types:information | Information
"""
UNLABELLED_KEYS = ("frais:gratuit frais:payant modes_accueil:a-distance modes_accueil:en-presentiel "
                   "mobilisable_par:usagers mobilisable_par:professionnels")


def _table(block: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("|")] for line in block.strip().splitlines()]


THEMATIQUE_KEYS = sorted((code, key) for code, _, keys in _table(THEMATIQUES) for key in keys.split())
KEY_ROWS = (
    [{"key": f"thematiques:{code}", "label": label} for code, label, _ in _table(THEMATIQUES)]
    + [{"key": key, "label": label} for key, label in _table(OTHER_KEYS)]
    + [{"key": key, "label": None} for key in UNLABELLED_KEYS.split()]
)


def _write_keys(bind) -> None:
    """What search.labels.refresh_keys did at this revision (into empty tables)."""
    bind.execute(sa.text("INSERT INTO search_thematique_key (thematique, key) VALUES (:t, :k)"),
                 [{"t": t, "k": k} for t, k in THEMATIQUE_KEYS])
    bind.execute(sa.text("INSERT INTO search_key (key, vector) VALUES "
                         "(:key, to_tsvector('french_unaccent', :label)) "
                         "ON CONFLICT (key) DO UPDATE SET vector = EXCLUDED.vector"), KEY_ROWS)


# The per-row function of 0009 (its generated column service.facet_keys), for the
# downgrade: the text catalogue.facet_keys.function_sql() gave, from the same keys.
FACET_KEYS_FUNCTION = """
CREATE OR REPLACE FUNCTION search_facet_keys(
    thematiques text[], publics text[], frais text, type text, modes_accueil text[], source text)
RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT k ORDER BY k), '{{}}') FROM (
    SELECT 'thematiques:' || u.code AS k FROM unnest(thematiques) AS u(code)
    UNION ALL
    SELECT g.k FROM unnest(thematiques) AS u(code) JOIN (VALUES
      {values}
    ) AS g(code, k) ON g.code = u.code
    UNION ALL SELECT 'publics:' || u.code FROM unnest(publics) AS u(code)
    UNION ALL SELECT 'frais:' || frais WHERE frais IS NOT NULL
    UNION ALL SELECT 'types:' || type WHERE type IS NOT NULL
    UNION ALL SELECT 'sources:' || source WHERE source IS NOT NULL
    UNION ALL SELECT 'modes_accueil:a-distance' WHERE 'a-distance' = ANY (modes_accueil)
    UNION ALL SELECT 'modes_accueil:en-presentiel'
              WHERE modes_accueil = '{{}}' OR 'en-presentiel' = ANY (modes_accueil)
  ) keys
$$;
"""


def _facet_keys_function() -> str:
    values = ",\n      ".join(f"('{t}', '{k}')" for t, k in THEMATIQUE_KEYS)
    return FACET_KEYS_FUNCTION.format(values=values)



def upgrade() -> None:
    op.create_table(
        "search_thematique_key",
        sa.Column("thematique", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("thematique", "key", name=op.f("pk_search_thematique_key")),
    )
    op.create_table(
        "search_key",
        sa.Column("id", sa.Integer(), sa.Identity(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("vector", postgresql.TSVECTOR(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_key")),
        sa.UniqueConstraint("key", name=op.f("uq_search_key_key")),
    )
    add = [
        sa.Column("visible", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("duplicate", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("remote", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("on_site", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("zone", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("x", sa.Double(), nullable=True),
        sa.Column("y", sa.Double(), nullable=True),
        sa.Column("z", sa.Double(), nullable=True),
        sa.Column("structure_id", sa.UUID(), nullable=True),
        sa.Column("code_insee", sa.String(length=5), nullable=True),
        sa.Column("fresh_date", sa.Date(), nullable=True),
        sa.Column("keys", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False),
    ]
    for column in add:
        op.add_column("search_document", column)
    # One GIN index over the zone, the keys and the text: a search's conditions on
    # them are ANDed inside one index scan, which skips through the long posting
    # lists (GIN "fast scan") instead of reading each whole (three indexes and a
    # BitmapAnd: 9 ms -> 2 ms for a commune and a thematique at 100,000 services).
    op.drop_index("ix_search_document_document", table_name="search_document", postgresql_using="gin")
    op.create_index("ix_search_document_terms", "search_document", ["zone", "keys", "document"],
                    postgresql_using="gin")
    op.create_index("ix_search_document_structure_id", "search_document", ["structure_id"])
    # Only the search filtered on these, and it reads search_document now.
    op.drop_index("ix_service_zone_eligibilite", table_name="service", postgresql_using="gin")
    op.drop_index("ix_service_publics", table_name="service", postgresql_using="gin")
    op.execute(FUNCTIONS)
    # A structure's name is in its services' documents, its status in their visibility.
    op.execute(_structure_changed("nom", "status"))
    op.execute(_audit(LEFT_OUT_INSERT, LEFT_OUT_UPDATE, one_copy=True))

    _write_keys(op.get_bind())
    # Computed by search_named_keys now (set-based), into search_document.keys.
    op.drop_column("service", "facet_keys")
    op.execute("DROP FUNCTION IF EXISTS search_facet_keys(text[], text[], text, text, text[], text)")
    op.execute("SELECT search_refresh(ARRAY(SELECT id FROM service))")


def downgrade() -> None:
    op.execute(_facet_keys_function())
    op.add_column(
        "service",
        sa.Column(
            "facet_keys",
            postgresql.ARRAY(sa.Text()),
            sa.Computed("search_facet_keys(thematiques, publics, frais, type, modes_accueil, source)",
                        persisted=True),
            nullable=True,
        ),
    )
    op.execute(_audit(LEFT_OUT_INSERT, LEFT_OUT_UPDATE, one_copy=False))
    op.execute(OLD_FUNCTIONS)
    op.execute(_structure_changed("nom"))
    op.create_index("ix_service_publics", "service", ["publics"], postgresql_using="gin")
    op.create_index("ix_service_zone_eligibilite", "service", ["zone_eligibilite"], postgresql_using="gin")
    op.drop_index("ix_search_document_structure_id", table_name="search_document")
    op.drop_index("ix_search_document_terms", table_name="search_document", postgresql_using="gin")
    op.create_index("ix_search_document_document", "search_document", ["document"], postgresql_using="gin")
    for name in ("keys", "fresh_date", "code_insee", "structure_id", "z", "y", "x", "zone",
                 "on_site", "remote", "duplicate", "visible"):
        op.drop_column("search_document", name)
    op.drop_table("search_key")
    op.drop_table("search_thematique_key")
