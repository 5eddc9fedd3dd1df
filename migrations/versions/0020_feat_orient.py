"""feat-orient: orientations of a person to a structure, their audited history and
the log of every read of their personal data (issue 19, points 2 and 4)

Revision ID: 0020_feat_orient
Revises: 0019_sql_files

- orientation: one request of a referent to a structure about a person (name or
  initials, contact, needs, message), with the consent recorded (who, when, for
  what) and its state (envoyee, informations_demandees, acceptee, refusee); its URL
  carries `public_id`, never the sequential id nor a personal datum;
- orientation_event: its history (who, when, what), never deleted before the
  orientation; free text in it is blanked by the anonymisation;
- personal_data_access: every read of an orientation's personal data (who, when,
  which orientation, what for); kept without a foreign key so that erasing or
  anonymising an orientation keeps the trace of who read it.
The DDL is frozen text here: this file imports no project code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_feat_orient"
down_revision = "0019_sql_files"
branch_labels = None
depends_on = None

_UP = """
CREATE TABLE orientation (
  id serial NOT NULL,
  public_id uuid NOT NULL DEFAULT gen_random_uuid(),
  service_id uuid,
  structure_id uuid NOT NULL,
  referent_id integer,
  status varchar(30) NOT NULL DEFAULT 'envoyee',
  person_name text,
  person_contact text,
  needs text[] NOT NULL DEFAULT '{}',
  message text,
  consent_at timestamptz NOT NULL,
  consent_by_id integer,
  consent_purpose text NOT NULL,
  refusal_reason varchar(40),
  refusal_details text,
  source varchar(100),
  code_insee varchar(5),
  created_at timestamptz NOT NULL DEFAULT now(),
  waiting_since timestamptz NOT NULL DEFAULT now(),
  answered_at timestamptz,
  closed_at timestamptz,
  last_reminder_at timestamptz,
  reminders_sent integer NOT NULL DEFAULT 0,
  anonymised_at timestamptz,
  CONSTRAINT pk_orientation PRIMARY KEY (id),
  CONSTRAINT uq_orientation_public_id UNIQUE (public_id),
  CONSTRAINT fk_orientation_service_id_service FOREIGN KEY (service_id) REFERENCES service (id) ON DELETE SET NULL,
  CONSTRAINT fk_orientation_structure_id_structure FOREIGN KEY (structure_id) REFERENCES structure (id),
  CONSTRAINT fk_orientation_referent_id_app_user FOREIGN KEY (referent_id) REFERENCES app_user (id) ON DELETE SET NULL,
  CONSTRAINT fk_orientation_consent_by_id_app_user FOREIGN KEY (consent_by_id) REFERENCES app_user (id) ON DELETE SET NULL,
  CONSTRAINT ck_orientation_status CHECK (status IN ('envoyee', 'informations_demandees', 'acceptee', 'refusee')),
  CONSTRAINT ck_orientation_refusal CHECK (status <> 'refusee' OR refusal_reason IS NOT NULL)
);
CREATE INDEX ix_orientation_structure_id ON orientation (structure_id);
CREATE INDEX ix_orientation_referent_id ON orientation (referent_id);
CREATE INDEX ix_orientation_status ON orientation (status);
CREATE INDEX ix_orientation_closed_at ON orientation (closed_at);

CREATE TABLE orientation_event (
  id bigserial NOT NULL,
  orientation_id integer NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  actor_id integer,
  actor_label varchar(100),
  kind varchar(40) NOT NULL,
  reason varchar(40),
  message text,
  CONSTRAINT pk_orientation_event PRIMARY KEY (id),
  CONSTRAINT fk_orientation_event_orientation_id_orientation FOREIGN KEY (orientation_id)
    REFERENCES orientation (id) ON DELETE CASCADE,
  CONSTRAINT fk_orientation_event_actor_id_app_user FOREIGN KEY (actor_id) REFERENCES app_user (id) ON DELETE SET NULL
);
CREATE INDEX ix_orientation_event_orientation_at ON orientation_event (orientation_id, at);

CREATE TABLE personal_data_access (
  id bigserial NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  user_id integer,
  orientation_id integer,
  orientation_public_id uuid,
  action varchar(30) NOT NULL,
  CONSTRAINT pk_personal_data_access PRIMARY KEY (id)
);
CREATE INDEX ix_personal_data_access_orientation ON personal_data_access (orientation_id, at);
CREATE INDEX ix_personal_data_access_user ON personal_data_access (user_id, at);
"""

_DOWN = """
DROP TABLE personal_data_access;
DROP TABLE orientation_event;
DROP TABLE orientation;
"""


def upgrade() -> None:
    for statement in _UP.split(";\n"):
        if statement.strip():
            op.execute(sa.text(statement))


def downgrade() -> None:
    for statement in _DOWN.split(";\n"):
        if statement.strip():
            op.execute(sa.text(statement))
