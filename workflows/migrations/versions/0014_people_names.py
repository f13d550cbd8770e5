"""people by name: a user's 职务 (app_user.post) beside their 姓名 (display_name), so that
every person is shown as 姓名（单位·岗位）

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("post", sa.String(100), nullable=True))


def downgrade() -> None:
    # in place (SQLite ≥ 3.35): a batch rebuild of app_user would trip the foreign keys that
    # point at it (login sessions, API tokens)
    op.execute("ALTER TABLE app_user DROP COLUMN post")
