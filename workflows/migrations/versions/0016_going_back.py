"""退回/撤回: what each completed step wrote (step_effect), the going backs (going_back) and
the supersession of the records they undid (record_supersession)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from workflows.engine.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_effect",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=False),
        sa.Column("change", sa.String(10), nullable=False),
        sa.Column("record_table", sa.String(60), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("other_instance_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_step_effect_instance_id", "step_effect", ["instance_id"])
    op.create_index("ix_step_effect_task_id", "step_effect", ["task_id"])
    op.create_table(
        "going_back",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("from_task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=True),
        sa.Column("target_task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=False),
        sa.Column("reopened_task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_going_back_instance_id", "going_back", ["instance_id"])
    op.create_index("ix_going_back_reopened_task_id", "going_back", ["reopened_task_id"])
    op.create_table(
        "record_supersession",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("going_back_id", sa.Integer(), sa.ForeignKey("going_back.id"), nullable=False),
        sa.Column("record_table", sa.String(60), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("record_table", "record_id"),
    )
    op.create_index(
        "ix_record_supersession_going_back_id", "record_supersession", ["going_back_id"]
    )


def downgrade() -> None:
    op.drop_table("record_supersession")
    op.drop_table("going_back")
    op.drop_table("step_effect")
