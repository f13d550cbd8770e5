"""the role queue's index covers who holds a task (assignee, owner): a queue's length — the
inbox's tab count, the API's total — is counted from the index alone, without reading a
task row per task (a clerk's 本岗位待办 of a few thousand tasks: 3,000 pages read → 8)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_human_task_queue", "human_task")
    op.create_index(
        "ix_human_task_queue",
        "human_task",
        ["state", "role", "org_unit", "due_at", "assignee", "owner"],
    )


def downgrade() -> None:
    op.drop_index("ix_human_task_queue", "human_task")
    op.create_index("ix_human_task_queue", "human_task", ["state", "role", "org_unit", "due_at"])
