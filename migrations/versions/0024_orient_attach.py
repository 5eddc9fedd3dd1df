"""orient-attach: attachments of an orientation (optional, ORIENTATION_ATTACHMENTS)

Revision ID: 0024_orient_attach
Revises: 0023_rgpd_prescr

Up to three PDF, PNG or JPEG files per orientation, stored in the database (never
on disk): the orientation, a random public id (URLs), the sanitised name, the media
type recognised by the content, the size and the bytes. Deleted with the
orientation's personal data (anonymisation, erasure) and with the orientation.
"""

from alembic import op

revision = "0024_orient_attach"
down_revision = "0023_rgpd_prescr"
branch_labels = None
depends_on = None

_UP = """
CREATE TABLE orientation_attachment (
    id BIGSERIAL NOT NULL,
    orientation_id INTEGER NOT NULL,
    public_id UUID DEFAULT gen_random_uuid() NOT NULL,
    name VARCHAR(110) NOT NULL,
    media_type VARCHAR(40) NOT NULL,
    size INTEGER NOT NULL,
    data BYTEA NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
    CONSTRAINT pk_orientation_attachment PRIMARY KEY (id),
    CONSTRAINT fk_orientation_attachment_orientation_id_orientation FOREIGN KEY (orientation_id)
        REFERENCES orientation (id) ON DELETE CASCADE,
    CONSTRAINT uq_orientation_attachment_public_id UNIQUE (public_id),
    CONSTRAINT ck_orientation_attachment_media_type
        CHECK (media_type IN ('application/pdf', 'image/png', 'image/jpeg')),
    CONSTRAINT ck_orientation_attachment_size CHECK (size = octet_length(data))
);
CREATE INDEX ix_orientation_attachment_orientation_id ON orientation_attachment (orientation_id);
"""

_DOWN = "DROP TABLE orientation_attachment;"


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute(_DOWN)
