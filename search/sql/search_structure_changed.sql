-- Statement-level trigger on structure: a structure's name is in its services'
-- documents, its status in their visibility.
CREATE OR REPLACE FUNCTION public.search_structure_changed()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  PERFORM search_refresh(ARRAY(
    SELECT s.id FROM service s
    JOIN changed c ON c.id = s.structure_id
    JOIN before b ON b.id = c.id
    WHERE c.nom IS DISTINCT FROM b.nom OR c.status IS DISTINCT FROM b.status));
  RETURN NULL;
END $function$;
