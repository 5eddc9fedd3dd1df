-- Search outbox (for an external engine only: search_engine_state.outbox_enabled):
-- one row per changed service, moved to a new id when it is queued again.
CREATE OR REPLACE FUNCTION public.offre_outbox_service()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  IF coalesce((SELECT outbox_enabled FROM search_engine_state WHERE id = 1), false) THEN
    INSERT INTO search_outbox (service_id) SELECT DISTINCT id FROM new_rows
    ON CONFLICT (service_id) DO UPDATE
      SET id = nextval(pg_get_serial_sequence('search_outbox', 'id')), at = now();
  END IF;
  RETURN NULL;
END $function$;
