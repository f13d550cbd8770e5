"""立案日期 on the case: the policy date a case counts from, apart from the moment it was entered

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03

Existing cases take the 立案日期 their 立案 step recorded (the audit trail keeps the form
data of every completed step), else the date they were entered in the deployment's time zone.
"""

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from workflows.config import Settings

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place: SQLite cannot rebuild a table other tables refer to (batch mode would).
    op.add_column("case_file", sa.Column("registered_on", sa.Date(), nullable=True))
    conn = op.get_bind()
    for case_id, registered_on in _registered(conn).items():
        conn.execute(
            sa.text("UPDATE case_file SET registered_on = :on WHERE id = :id"),
            {"on": registered_on, "id": case_id},
        )
    if conn.dialect.name != "sqlite":  # SQLite adds no NOT NULL to a column in place
        op.alter_column("case_file", "registered_on", existing_type=sa.Date(), nullable=False)


def _registered(conn: sa.Connection) -> dict[int, date]:
    """Each case's 立案日期: its 立案 step's, else the local date it was entered."""
    tz = ZoneInfo(Settings().timezone)
    found: dict[int, date] = {}
    for case_id, opened_at in conn.execute(sa.text("SELECT id, opened_at FROM case_file")):
        if isinstance(opened_at, str):
            opened_at = datetime.fromisoformat(opened_at)
        if opened_at.tzinfo is None:
            opened_at = opened_at.replace(tzinfo=UTC)
        found[case_id] = opened_at.astimezone(tz).date()
    steps = conn.execute(
        sa.text(
            "SELECT c.id, a.detail FROM audit_event a JOIN case_file c"
            " ON c.instance_id = a.instance_id WHERE a.action = 'task.complete' ORDER BY a.id"
        )
    )
    for case_id, detail in steps:
        try:
            done = json.loads(detail)
            if done.get("task") == "register" and done["data"].get("registered_on"):
                found[case_id] = date.fromisoformat(done["data"]["registered_on"])
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # not a 立案 step with a date: the entry date stands
    return found


def downgrade() -> None:
    op.execute("ALTER TABLE case_file DROP COLUMN registered_on")
