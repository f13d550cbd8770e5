"""加签 (consultation requests and opinions) and 抄送 (copies) on steps

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from workflows.engine.models import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consultation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("asked_by", sa.String(100), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("withdrawn_by", sa.String(100), nullable=True),
    )
    op.create_index("ix_consultation_task_state", "consultation", ["task_id", "state"])
    op.create_index("ix_consultation_instance_id", "consultation", ["instance_id"])
    op.create_index("ix_consultation_case_id", "consultation", ["case_id"])
    op.create_table(
        "consultation_opinion",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "consultation_id", sa.Integer(), sa.ForeignKey("consultation.id"), nullable=False
        ),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("opinion", sa.Text(), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
    )
    op.create_index(
        "ux_consultation_opinion_user",
        "consultation_opinion",
        ["consultation_id", "username"],
        unique=True,
    )
    op.create_index(
        "ix_consultation_opinion_inbox", "consultation_opinion", ["username", "answered_at"]
    )
    op.create_table(
        "task_copy",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("copied_by", sa.String(100), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ux_task_copy_user", "task_copy", ["task_id", "username"], unique=True)
    op.create_index("ix_task_copy_inbox", "task_copy", ["username", "id"])
    op.create_index("ix_task_copy_instance_id", "task_copy", ["instance_id"])
    op.create_index("ix_task_copy_case_id", "task_copy", ["case_id"])


def downgrade() -> None:
    op.drop_table("task_copy")  # drops its indexes with it
    op.drop_table("consultation_opinion")
    op.drop_table("consultation")
