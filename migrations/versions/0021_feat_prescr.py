"""feat_prescr: SPIE prescriptions (the person, the barriers, the consent), the
actions of the plan decided in committee (levers and orientations: orientation_id,
no foreign key, is wired by the orientation feature), and the log of every read of
a prescription's personal data (catalogue/prescription.py).

Revision ID: 0021_feat_prescr
Revises: 0020_feat_orient
"""

import sqlalchemy as sa
from alembic import op


revision = "0021_feat_prescr"
down_revision = "0020_feat_orient"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('spie_prescription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('territory_slug', sa.String(length=100), nullable=False),
    sa.Column('cohort', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='envoyee', nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('person_name', sa.Text(), nullable=False),
    sa.Column('person_contact', sa.Text(), nullable=True),
    sa.Column('code_commune', sa.String(length=5), nullable=True),
    sa.Column('situation_text', sa.Text(), nullable=False),
    sa.Column('barriers', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('days', sa.ARRAY(sa.Text()), nullable=False),
    sa.Column('availability', sa.Text(), nullable=True),
    sa.Column('no_vehicle', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('prescriber_id', sa.Integer(), nullable=True),
    sa.Column('referent_name', sa.Text(), nullable=False),
    sa.Column('referent_phone', sa.Text(), nullable=True),
    sa.Column('referent_email', sa.Text(), nullable=False),
    sa.Column('referent_structure', sa.Text(), nullable=True),
    sa.Column('consent_by', sa.String(length=20), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consent_purpose', sa.Text(), nullable=False),
    sa.Column('situation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['prescriber_id'], ['app_user.id'], name=op.f('fk_spie_prescription_prescriber_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['situation_id'], ['cto_situation.id'], name=op.f('fk_spie_prescription_situation_id_cto_situation'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spie_prescription')),
    sa.UniqueConstraint('public_id', name=op.f('uq_spie_prescription_public_id'))
    )
    op.create_index(op.f('ix_spie_prescription_prescriber_id'), 'spie_prescription', ['prescriber_id'], unique=False)
    op.create_index(op.f('ix_spie_prescription_territory_slug'), 'spie_prescription', ['territory_slug'], unique=False)
    op.create_table('spie_plan_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('barrier', sa.String(length=100), nullable=True),
    sa.Column('service_id', sa.UUID(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='prevue', nullable=False),
    sa.Column('orientation_id', sa.UUID(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_spie_plan_action_created_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prescription_id'], ['spie_prescription.id'], name=op.f('fk_spie_plan_action_prescription_id_spie_prescription'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_spie_plan_action_service_id_service'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spie_plan_action')),
    sa.UniqueConstraint('public_id', name=op.f('uq_spie_plan_action_public_id'))
    )
    op.create_index(op.f('ix_spie_plan_action_prescription_id'), 'spie_plan_action', ['prescription_id'], unique=False)
    op.create_table('spie_prescription_read',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('what', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['prescription_id'], ['spie_prescription.id'], name=op.f('fk_spie_prescription_read_prescription_id_spie_prescription'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_spie_prescription_read_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spie_prescription_read'))
    )
    op.create_index(op.f('ix_spie_prescription_read_prescription_id'), 'spie_prescription_read', ['prescription_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_spie_prescription_read_prescription_id'), table_name='spie_prescription_read')
    op.drop_table('spie_prescription_read')
    op.drop_index(op.f('ix_spie_plan_action_prescription_id'), table_name='spie_plan_action')
    op.drop_table('spie_plan_action')
    op.drop_index(op.f('ix_spie_prescription_territory_slug'), table_name='spie_prescription')
    op.drop_index(op.f('ix_spie_prescription_prescriber_id'), table_name='spie_prescription')
    op.drop_table('spie_prescription')
