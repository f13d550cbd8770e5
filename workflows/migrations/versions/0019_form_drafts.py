"""form drafts saved in the browser's form designer; decision versions keep their 版本说明

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from workflows.engine.models import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        # the form's stem: <stem>.schema.json and <stem>.uischema.json
        sa.Column("stem", sa.String(200), nullable=False, unique=True),
        sa.Column("schema_json", sa.Text(), nullable=False),
        sa.Column("uischema_json", sa.Text(), nullable=False),
        # bumped by every save; a save names the revision it started from
        sa.Column("revision", sa.Integer(), nullable=False),
        # the hash of the deployed form the first save started from (None: a new form)
        sa.Column("base_hash", sa.String(64), nullable=True),
        sa.Column("saved_by", sa.String(200), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
    )
    with op.batch_alter_table("decision_version") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE decision_version DROP COLUMN note")
    op.drop_table("form_draft")
