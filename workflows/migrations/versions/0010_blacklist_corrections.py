"""blacklist corrections: a correction (更正) is a new listing that points at the entry it
supersedes, with the reason it was corrected; an entry is corrected at most once

The table stays append-only (0003's triggers are untouched: adding columns updates no row).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain SQL: SQLite adds a column with its reference only this way (no ALTER of constraints).
    op.execute(
        "ALTER TABLE blacklist_entry ADD COLUMN corrects_entry_id INTEGER REFERENCES blacklist_entry (id)"
    )
    op.add_column("blacklist_entry", sa.Column("correction_reason", sa.Text(), nullable=True))
    op.create_index(
        "ux_blacklist_entry_corrects", "blacklist_entry", ["corrects_entry_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_blacklist_entry_corrects", "blacklist_entry")
    # SQLite ≥ 3.35 drops columns too; the append-only triggers stay.
    op.execute("ALTER TABLE blacklist_entry DROP COLUMN correction_reason")
    op.execute("ALTER TABLE blacklist_entry DROP COLUMN corrects_entry_id")
