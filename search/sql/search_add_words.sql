-- Words (3 letters or more, unaccented, lower case) for typo correction
-- (search.labels.refresh_labels adds those of the vocabulary's labels).
CREATE OR REPLACE FUNCTION public.search_add_words(t text)
 RETURNS void
 LANGUAGE sql
AS $function$
  INSERT INTO search_word (word)
  SELECT DISTINCT w FROM regexp_split_to_table(lower(f_unaccent(coalesce(t, ''))), '[^a-z0-9]+') w
  WHERE length(w) >= 3
  ON CONFLICT DO NOTHING
$function$;
