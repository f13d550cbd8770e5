"""process versions: the designer's change note (版本说明) and who deployed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_version") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("confirmed_warnings", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    # SQLite ≥ 3.35 drops a plain column in place; a batch rebuild of process_version would
    # trip the foreign keys that point at it (instance.process_version_id)
    op.execute("ALTER TABLE process_version DROP COLUMN confirmed_warnings")
    op.execute("ALTER TABLE process_version DROP COLUMN note")
