-- Audit: every insert of a structure or a service, whoever makes it. A
-- statement-level trigger over a transition table: one set-based insert per
-- statement, so bulk imports stay fast. The raw payload, the timestamps and the
-- generated columns are left out.
CREATE OR REPLACE FUNCTION public.offre_audit_insert()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, n.id, 'insert', NULL,
         to_jsonb(n) - '{raw,updated_at,created_at,facet_keys,fresh_date}'::text[]
  FROM new_rows n;
  RETURN NULL;
END $function$;
