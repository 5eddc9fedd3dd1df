-- The catalogue's search generation: its sum over search_generation's rows grows
-- with every committed change of search_document (insert, update, delete,
-- truncate), so that a cache keyed by it (search/cache.py) is invalidated by the
-- very commit that changes what a search finds. One row per slot (the backend's pid
-- modulo 1024): concurrent writers do not wait on one counter row, and the count is
-- transactional (never seen before the change it stands for is).
CREATE OR REPLACE FUNCTION public.search_generation_bump()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
  INSERT INTO search_generation (slot, n) VALUES (pg_backend_pid() % 1024, 1)
  ON CONFLICT (slot) DO UPDATE SET n = search_generation.n + 1;
  RETURN NULL;
END $function$;
