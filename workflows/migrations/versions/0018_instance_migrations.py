"""moving running instances to a newer process version, kept for revert

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from workflows.engine.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_migration",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), nullable=False),
        sa.Column("process_key", sa.String(200), nullable=False),
        sa.Column(
            "from_version_id", sa.Integer(), sa.ForeignKey("process_version.id"), nullable=False
        ),
        sa.Column(
            "to_version_id", sa.Integer(), sa.ForeignKey("process_version.id"), nullable=False
        ),
        sa.Column("old_state", sa.Text(), nullable=False),
        sa.Column("old_state_format", sa.Integer(), nullable=False),
        sa.Column("instance_version", sa.Integer(), nullable=False),
        sa.Column("migrated_by", sa.String(200), nullable=False),
        sa.Column("migrated_at", UTCDateTime(), nullable=False),
        sa.Column("reverted_by", sa.String(200), nullable=True),
        sa.Column("reverted_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_instance_migration_instance_id", "instance_migration", ["instance_id"])
    op.create_index("ix_instance_migration_process_key", "instance_migration", ["process_key"])


def downgrade() -> None:
    op.drop_index("ix_instance_migration_process_key", table_name="instance_migration")
    op.drop_index("ix_instance_migration_instance_id", table_name="instance_migration")
    op.drop_table("instance_migration")
