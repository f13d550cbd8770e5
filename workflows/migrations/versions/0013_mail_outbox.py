"""e-mail as a notification channel: a user's address (app_user.email) and the outbox of the
notices' e-mails (mail_outbox), written with the notice and sent by the scheduler

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from workflows.engine.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "notification_id", sa.Integer(), sa.ForeignKey("notification.id"), nullable=False
        ),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
    )
    # The delivery's claim: pending rows only have a next attempt (sent and failed ones none).
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["next_attempt_at", "id"])
    op.create_index("ix_mail_outbox_username", "mail_outbox", ["username", "id"])


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_username", "mail_outbox")
    op.drop_index("ix_mail_outbox_due", "mail_outbox")
    op.drop_table("mail_outbox")
    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("email")
