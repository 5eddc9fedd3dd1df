-- Statement-level trigger on service: one refresh per statement (bulk imports stay
-- fast).
CREATE OR REPLACE FUNCTION public.search_service_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  PERFORM search_refresh(ARRAY(SELECT id FROM changed));
  RETURN NULL;
END $function$;
