"""feat-selection: short links of a selection for the person

Revision ID: 0022_feat_selection
Revises: 0021_feat_prescr

A selection (the few offers a referent hands to a person) lives in the visitor's
signed session cookie; `selection_link` freezes one behind a short link for a set
time (SELECTION_LINK_DAYS): a random token, the offers' public ids, the expiry and
the sha256 of a secret only the creator's session holds (to delete the link). No
personal data. Expired rows are deleted when a new link is made.
"""

from alembic import op

revision = "0022_feat_selection"
down_revision = "0021_feat_prescr"
branch_labels = None
depends_on = None

_UP = """
CREATE TABLE selection_link (
    id BIGSERIAL NOT NULL,
    token VARCHAR(32) NOT NULL,
    service_ids UUID[] NOT NULL,
    owner_hash VARCHAR(64) NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_selection_link PRIMARY KEY (id),
    CONSTRAINT uq_selection_link_token UNIQUE (token),
    CONSTRAINT ck_selection_link_size CHECK (cardinality(service_ids) BETWEEN 1 AND 200),
    CONSTRAINT ck_selection_link_expiry CHECK (expires_at > created_at)
);
CREATE INDEX ix_selection_link_expires_at ON selection_link (expires_at);
"""

_DOWN = "DROP TABLE selection_link;"


def upgrade() -> None:
    op.execute(_UP)


def downgrade() -> None:
    op.execute(_DOWN)
