-- (Re)compute the search rows of the given services. Keys seen for the first time
-- (a new source, a code outside the vocabulary) get their id, then those rows are
-- written again.
CREATE OR REPLACE FUNCTION public.search_refresh(ids uuid[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
  incomplete uuid[];
BEGIN
  incomplete := search_refresh_rows(ids);
  IF incomplete IS NOT NULL THEN
    INSERT INTO search_key (key) SELECT DISTINCT key FROM search_named_keys(incomplete)
    ON CONFLICT (key) DO NOTHING;
    PERFORM search_refresh_rows(incomplete);
  END IF;
END $function$;
