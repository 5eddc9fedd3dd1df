-- The keys of these services, as text (`<facet>:<value>`, see
-- catalogue/facet_keys.py): set-based, one hash join with the vocabulary's
-- thematique -> category / SPIE group table for the whole batch (a function called
-- for each row cost 80 µs per service).
CREATE OR REPLACE FUNCTION public.search_named_keys(ids uuid[])
 RETURNS TABLE(service_id uuid, key text)
 LANGUAGE sql
 STABLE
AS $function$
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
$function$;
