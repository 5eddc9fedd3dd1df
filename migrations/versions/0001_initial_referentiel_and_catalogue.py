"""initial: referentiel and catalogue

Revision ID: 0001
Revises: 
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


TRIGGERS = r"""
-- Audit: every insert/update of a structure or a service, whoever makes it.
-- Statement-level triggers over transition tables: one set-based insert per
-- statement, so bulk imports stay fast. Only the changed columns are kept
-- (before/after); the raw payload and the timestamps are left out.
CREATE FUNCTION offre_audit_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, n.id, 'insert', NULL,
         to_jsonb(n) - 'raw' - 'updated_at' - 'created_at'
  FROM new_rows n;
  RETURN NULL;
END $$;

CREATE FUNCTION offre_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (actor, table_name, record_id, action, before, after)
  SELECT NULLIF(current_setting('offre.actor', true), ''), TG_TABLE_NAME, d.id, 'update', d.b, d.a
  FROM (
    SELECT j.id,
           (SELECT jsonb_object_agg(k, j.oj -> k) FROM jsonb_object_keys(j.nj) k
             WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)) AS b,
           (SELECT jsonb_object_agg(k, j.nj -> k) FROM jsonb_object_keys(j.nj) k
             WHERE (j.oj -> k) IS DISTINCT FROM (j.nj -> k)) AS a
    FROM (
      SELECT n.id, to_jsonb(o) - 'raw' - 'updated_at' AS oj, to_jsonb(n) - 'raw' - 'updated_at' AS nj
      FROM new_rows n JOIN old_rows o ON o.id = n.id
    ) j
  ) d
  WHERE d.a IS NOT NULL;
  RETURN NULL;
END $$;

-- Nothing is hard-deleted: a DELETE archives the row instead.
CREATE FUNCTION offre_archive_instead_of_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('UPDATE %I SET status = ''archive'', updated_at = now() WHERE id = $1',
                 TG_TABLE_NAME) USING OLD.id;
  RETURN NULL;
END $$;

-- Search outbox: every change of a service, or of the structure it belongs to.
CREATE FUNCTION offre_outbox_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_outbox (service_id) SELECT id FROM new_rows;
  RETURN NULL;
END $$;

CREATE FUNCTION offre_outbox_structure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO search_outbox (service_id)
  SELECT s.id FROM service s JOIN new_rows n ON s.structure_id = n.id;
  RETURN NULL;
END $$;

CREATE TRIGGER structure_audit_insert AFTER INSERT ON structure
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_insert();
CREATE TRIGGER structure_audit_update AFTER UPDATE ON structure
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_update();
CREATE TRIGGER service_audit_insert AFTER INSERT ON service
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_insert();
CREATE TRIGGER service_audit_update AFTER UPDATE ON service
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION offre_audit_update();
CREATE TRIGGER structure_no_delete BEFORE DELETE ON structure
  FOR EACH ROW EXECUTE FUNCTION offre_archive_instead_of_delete();
CREATE TRIGGER service_no_delete BEFORE DELETE ON service
  FOR EACH ROW EXECUTE FUNCTION offre_archive_instead_of_delete();
CREATE TRIGGER service_outbox_insert AFTER INSERT ON service
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_service();
CREATE TRIGGER service_outbox_update AFTER UPDATE ON service
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_service();
CREATE TRIGGER structure_outbox AFTER UPDATE ON structure
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION offre_outbox_structure();
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table('geo_commune',
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('type', sa.String(length=4), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.Column('nom_recherche', sa.Text(), nullable=False),
    sa.Column('departement_code', sa.String(length=3), nullable=True),
    sa.Column('region_code', sa.String(length=3), nullable=True),
    sa.Column('epci_code', sa.String(length=9), nullable=True),
    sa.Column('parent_code', sa.String(length=5), nullable=True),
    sa.Column('codes_postaux', sa.ARRAY(sa.String(length=5)), nullable=False),
    sa.Column('population', sa.BigInteger(), nullable=True),
    sa.Column('contour', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('centre', geoalchemy2.types.Geography(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeogFromText', name='geography'), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_geo_commune'))
    )
    op.create_index('ix_geo_commune_centre', 'geo_commune', ['centre'], unique=False, postgresql_using='gist')
    op.create_index('ix_geo_commune_codes_postaux', 'geo_commune', ['codes_postaux'], unique=False, postgresql_using='gin')
    op.create_index('ix_geo_commune_contour', 'geo_commune', ['contour'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_geo_commune_departement_code'), 'geo_commune', ['departement_code'], unique=False)
    op.create_index(op.f('ix_geo_commune_epci_code'), 'geo_commune', ['epci_code'], unique=False)
    op.create_index('ix_geo_commune_nom_recherche', 'geo_commune', ['nom_recherche'], unique=False, postgresql_ops={'nom_recherche': 'text_pattern_ops'})
    op.create_table('geo_epci',
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_geo_epci'))
    )
    op.create_table('geo_region',
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_geo_region'))
    )
    op.create_table('geo_territory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.Column('communes', sa.ARRAY(sa.String(length=5)), nullable=False),
    sa.Column('contour', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_geo_territory')),
    sa.UniqueConstraint('slug', name=op.f('uq_geo_territory_slug'))
    )
    op.create_index('ix_geo_territory_contour', 'geo_territory', ['contour'], unique=False, postgresql_using='gist')
    op.create_table('geo_departement',
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.Column('region_code', sa.String(length=3), nullable=True),
    sa.ForeignKeyConstraint(['region_code'], ['geo_region.code'], name=op.f('fk_geo_departement_region_code_geo_region')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_geo_departement'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=True),
    sa.Column('table_name', sa.String(length=50), nullable=False),
    sa.Column('record_id', sa.UUID(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_record', 'audit_log', ['table_name', 'record_id', 'at'], unique=False)
    op.create_table('search_outbox',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('service_id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox'))
    )
    op.create_index(op.f('ix_search_outbox_service_id'), 'search_outbox', ['service_id'], unique=False)
    op.create_table('structure',
    sa.Column('siret', sa.String(length=14), nullable=True),
    sa.Column('site_web', sa.Text(), nullable=True),
    sa.Column('accessibilite_lieu', sa.Text(), nullable=True),
    sa.Column('reseaux_porteurs', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('duplicate_of_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('source_id', sa.String(length=300), nullable=False),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('date_maj', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('brouillon', 'publie', 'archive', name='status'), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lien_source', sa.Text(), nullable=True),
    sa.Column('commune', sa.Text(), nullable=True),
    sa.Column('code_postal', sa.String(length=5), nullable=True),
    sa.Column('code_insee', sa.String(length=5), nullable=True),
    sa.Column('adresse', sa.Text(), nullable=True),
    sa.Column('complement_adresse', sa.Text(), nullable=True),
    sa.Column('location', geoalchemy2.types.Geography(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeogFromText', name='geography'), nullable=True),
    sa.Column('location_precision', sa.Enum('source', 'adresse', 'commune', name='location_precision'), nullable=True),
    sa.Column('telephone', sa.Text(), nullable=True),
    sa.Column('courriel', sa.Text(), nullable=True),
    sa.Column('horaires_accueil', sa.Text(), nullable=True),
    sa.Column('duplicate_score', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['structure.id'], name=op.f('fk_structure_duplicate_of_id_structure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_structure')),
    sa.UniqueConstraint('source', 'source_id', name='uq_structure_source_source_id')
    )
    op.create_index(op.f('ix_structure_duplicate_of_id'), 'structure', ['duplicate_of_id'], unique=False)
    op.create_index('ix_structure_location', 'structure', ['location'], unique=False, postgresql_using='gist')
    op.create_index(op.f('ix_structure_siret'), 'structure', ['siret'], unique=False)
    op.create_table('service',
    sa.Column('structure_id', sa.UUID(), nullable=False),
    sa.Column('type', sa.String(length=50), nullable=True),
    sa.Column('thematiques', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('frais', sa.String(length=20), nullable=True),
    sa.Column('frais_precisions', sa.Text(), nullable=True),
    sa.Column('publics', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('publics_precisions', sa.Text(), nullable=True),
    sa.Column('conditions_acces', sa.Text(), nullable=True),
    sa.Column('modes_accueil', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('zone_eligibilite', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('contact_nom_prenom', sa.Text(), nullable=True),
    sa.Column('lien_mobilisation', sa.Text(), nullable=True),
    sa.Column('modes_mobilisation', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('mobilisable_par', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('mobilisation_precisions', sa.Text(), nullable=True),
    sa.Column('volume_horaire_hebdomadaire', sa.Float(), nullable=True),
    sa.Column('nombre_semaines', sa.Integer(), nullable=True),
    sa.Column('frequence_maj_jours', sa.Integer(), server_default='180', nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duplicate_of_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('source_id', sa.String(length=300), nullable=False),
    sa.Column('raw', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('date_maj', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('brouillon', 'publie', 'archive', name='status'), nullable=False),
    sa.Column('nom', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('lien_source', sa.Text(), nullable=True),
    sa.Column('commune', sa.Text(), nullable=True),
    sa.Column('code_postal', sa.String(length=5), nullable=True),
    sa.Column('code_insee', sa.String(length=5), nullable=True),
    sa.Column('adresse', sa.Text(), nullable=True),
    sa.Column('complement_adresse', sa.Text(), nullable=True),
    sa.Column('location', geoalchemy2.types.Geography(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeogFromText', name='geography'), nullable=True),
    sa.Column('location_precision', sa.Enum('source', 'adresse', 'commune', name='location_precision'), nullable=True),
    sa.Column('telephone', sa.Text(), nullable=True),
    sa.Column('courriel', sa.Text(), nullable=True),
    sa.Column('horaires_accueil', sa.Text(), nullable=True),
    sa.Column('duplicate_score', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['service.id'], name=op.f('fk_service_duplicate_of_id_service')),
    sa.ForeignKeyConstraint(['structure_id'], ['structure.id'], name=op.f('fk_service_structure_id_structure')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service')),
    sa.UniqueConstraint('source', 'source_id', name='uq_service_source_source_id')
    )
    op.create_index(op.f('ix_service_duplicate_of_id'), 'service', ['duplicate_of_id'], unique=False)
    op.create_index('ix_service_location', 'service', ['location'], unique=False, postgresql_using='gist')
    op.create_index('ix_service_publics', 'service', ['publics'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_service_structure_id'), 'service', ['structure_id'], unique=False)
    op.create_index('ix_service_thematiques', 'service', ['thematiques'], unique=False, postgresql_using='gin')
    op.create_index('ix_service_zone_eligibilite', 'service', ['zone_eligibilite'], unique=False, postgresql_using='gin')
    op.create_table('error_report',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('service_id', sa.UUID(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='nouveau', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handled_by', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_error_report_service_id_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_error_report'))
    )
    op.create_index(op.f('ix_error_report_service_id'), 'error_report', ['service_id'], unique=False)
    # ### end Alembic commands ###
    op.execute(TRIGGERS)


def downgrade() -> None:
    op.drop_index(op.f('ix_error_report_service_id'), table_name='error_report')
    op.drop_table('error_report')
    for name in ("offre_audit_insert", "offre_audit_update", "offre_archive_instead_of_delete",
                 "offre_outbox_service", "offre_outbox_structure"):
        op.execute(f"DROP FUNCTION IF EXISTS {name}() CASCADE")
    op.drop_index('ix_service_zone_eligibilite', table_name='service', postgresql_using='gin')
    op.drop_index('ix_service_thematiques', table_name='service', postgresql_using='gin')
    op.drop_index(op.f('ix_service_structure_id'), table_name='service')
    op.drop_index('ix_service_publics', table_name='service', postgresql_using='gin')
    op.drop_index('ix_service_location', table_name='service', postgresql_using='gist')
    op.drop_index(op.f('ix_service_duplicate_of_id'), table_name='service')
    op.drop_table('service')
    op.drop_index(op.f('ix_structure_siret'), table_name='structure')
    op.drop_index('ix_structure_location', table_name='structure', postgresql_using='gist')
    op.drop_index(op.f('ix_structure_duplicate_of_id'), table_name='structure')
    op.drop_table('structure')
    op.drop_index(op.f('ix_search_outbox_service_id'), table_name='search_outbox')
    op.drop_table('search_outbox')
    op.drop_index('ix_audit_log_record', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('geo_departement')
    op.drop_index('ix_geo_territory_contour', table_name='geo_territory', postgresql_using='gist')
    op.drop_table('geo_territory')
    op.drop_table('geo_region')
    op.drop_table('geo_epci')
    op.drop_index('ix_geo_commune_nom_recherche', table_name='geo_commune', postgresql_ops={'nom_recherche': 'text_pattern_ops'})
    op.drop_index(op.f('ix_geo_commune_epci_code'), table_name='geo_commune')
    op.drop_index(op.f('ix_geo_commune_departement_code'), table_name='geo_commune')
    op.drop_index('ix_geo_commune_contour', table_name='geo_commune', postgresql_using='gist')
    op.drop_index('ix_geo_commune_codes_postaux', table_name='geo_commune', postgresql_using='gin')
    op.drop_index('ix_geo_commune_centre', table_name='geo_commune', postgresql_using='gist')
    op.drop_table('geo_commune')
    # ### end Alembic commands ###
    op.execute("DROP TYPE IF EXISTS status")
    op.execute("DROP TYPE IF EXISTS location_precision")
