-- Search outbox: the services of the changed structures (see offre_outbox_service).
CREATE OR REPLACE FUNCTION public.offre_outbox_structure()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF coalesce((SELECT outbox_enabled FROM search_engine_state WHERE id = 1), false) THEN
    INSERT INTO search_outbox (service_id)
    SELECT DISTINCT s.id FROM service s JOIN new_rows n ON s.structure_id = n.id
    ON CONFLICT (service_id) DO UPDATE
      SET id = nextval(pg_get_serial_sequence('search_outbox', 'id')), at = now();
  END IF;
  RETURN NULL;
END $function$;
