-- Nothing is hard-deleted: a DELETE archives the row instead.
CREATE OR REPLACE FUNCTION public.offre_archive_instead_of_delete()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  EXECUTE format('UPDATE %I SET status = ''archive'', updated_at = now() WHERE id = $1',
                 TG_TABLE_NAME) USING OLD.id;
  RETURN NULL;
END $function$;
