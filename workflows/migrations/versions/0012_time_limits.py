"""every step has a time limit: administrators' per-step settings (time_limit_setting), the
steps' reminder and overdue alarms (task_alarm), and a step's 督办期限 (supervision_due_at)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from workflows.engine.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "time_limit_setting",
        sa.Column("process_key", sa.String(200), primary_key=True),
        sa.Column("element", sa.String(200), primary_key=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("reminder_workdays", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "task_alarm",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), nullable=False),
        sa.Column("spiff_task_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("fire_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("instance_id", "spiff_task_id", "kind"),
    )
    op.create_index("ix_task_alarm_fire_at", "task_alarm", ["fire_at"])
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("supervision_due_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    # SQLite ≥ 3.35 drops a plain column in place; a batch rebuild of human_task would trip
    # the foreign keys that point at it
    op.execute("ALTER TABLE human_task DROP COLUMN supervision_due_at")
    op.drop_index("ix_task_alarm_fire_at", "task_alarm")
    op.drop_table("task_alarm")
    op.drop_table("time_limit_setting")
