-- The triggers that keep the search rows current (search_service_changed,
-- search_structure_changed) and feed the outbox of an external engine.
CREATE OR REPLACE TRIGGER service_search_insert AFTER INSERT ON public.service
  REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE OR REPLACE TRIGGER service_search_update AFTER UPDATE ON public.service
  REFERENCING NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_service_changed();
CREATE OR REPLACE TRIGGER structure_search_update AFTER UPDATE ON public.structure
  REFERENCING OLD TABLE AS before NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION search_structure_changed();
CREATE OR REPLACE TRIGGER service_outbox_insert AFTER INSERT ON public.service
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_service();
CREATE OR REPLACE TRIGGER service_outbox_update AFTER UPDATE ON public.service
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_service();
CREATE OR REPLACE TRIGGER structure_outbox AFTER UPDATE ON public.structure
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_structure();
CREATE OR REPLACE TRIGGER search_document_generation AFTER INSERT OR DELETE OR UPDATE ON public.search_document
  FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
CREATE OR REPLACE TRIGGER search_document_generation_truncate AFTER TRUNCATE ON public.search_document
  FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
CREATE OR REPLACE TRIGGER search_key_generation AFTER INSERT OR DELETE OR UPDATE ON public.search_key
  FOR EACH STATEMENT EXECUTE FUNCTION search_generation_bump();
