-- The catalogue's own triggers: the audit log and archiving instead of deleting.
CREATE OR REPLACE TRIGGER structure_audit_insert AFTER INSERT ON public.structure
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_insert();
CREATE OR REPLACE TRIGGER structure_audit_update AFTER UPDATE ON public.structure
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_update();
CREATE OR REPLACE TRIGGER service_audit_insert AFTER INSERT ON public.service
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_insert();
CREATE OR REPLACE TRIGGER service_audit_update AFTER UPDATE ON public.service
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_update();
CREATE OR REPLACE TRIGGER structure_no_delete BEFORE DELETE ON public.structure
  FOR EACH ROW EXECUTE FUNCTION offre_archive_instead_of_delete();
CREATE OR REPLACE TRIGGER service_no_delete BEFORE DELETE ON public.service
  FOR EACH ROW EXECUTE FUNCTION offre_archive_instead_of_delete();
