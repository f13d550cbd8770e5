"""indexes for the lists: open tasks by due date (deadline sweeps, supervision) and
cases of a unit newest first

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_human_task_due", "human_task", ["state", "due_at"])
    op.create_index("ix_case_file_unit_opened", "case_file", ["org_unit_code", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_case_file_unit_opened", "case_file")
    op.drop_index("ix_human_task_due", "human_task")
