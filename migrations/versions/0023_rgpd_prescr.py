"""rgpd-prescr: the retention of SPIE prescriptions (issue 19, point 4)

Revision ID: 0023_rgpd_prescr
Revises: 0022_feat_selection

`spie_prescription.closed_at`: when the prescription was closed (terminée or non
retenue), the start of its retention period (PRESCRIPTION_RETENTION_MONTHS); the
prescriptions already closed take their last update. `anonymised_at`: when the
person's data were blanked (by the scheduler, or erased on request).
"""

from alembic import op

revision = "0023_rgpd_prescr"
down_revision = "0022_feat_selection"
branch_labels = None
depends_on = None

_UP = """
ALTER TABLE spie_prescription ADD COLUMN closed_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE spie_prescription ADD COLUMN anonymised_at TIMESTAMP WITH TIME ZONE;
UPDATE spie_prescription SET closed_at = updated_at WHERE status IN ('terminee', 'non_retenue');
"""

_DOWN = """
ALTER TABLE spie_prescription DROP COLUMN anonymised_at;
ALTER TABLE spie_prescription DROP COLUMN closed_at;
"""


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute(_DOWN)
