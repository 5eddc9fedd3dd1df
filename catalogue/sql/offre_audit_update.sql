-- Audit: every update of a structure or a service, whoever makes it; only the
-- changed columns are kept (before/after). The raw payload, the timestamps and the
-- generated columns are left out. Each row is turned into JSON once (OFFSET 0 keeps
-- the subquery from being inlined, which made PostgreSQL build both rows' JSON again
-- for each of their keys: 10 ms a service) and its keys compared in one pass.
CREATE OR REPLACE FUNCTION public.offre_audit_update()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, j.id, 'update', d.b, d.a
  FROM (
    SELECT n.id, to_jsonb(o) - '{raw,updated_at,facet_keys,fresh_date}'::text[] AS oj, to_jsonb(n) - '{raw,updated_at,facet_keys,fresh_date}'::text[] AS nj
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    OFFSET 0
  ) j
  CROSS JOIN LATERAL (
    SELECT jsonb_object_agg(k, j.oj -> k) AS b, jsonb_object_agg(k, j.nj -> k) AS a
    FROM jsonb_object_keys(j.nj) k
    WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)
  ) d
  WHERE d.a IS NOT NULL;
  RETURN NULL;
END $function$;
