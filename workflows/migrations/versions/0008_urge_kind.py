"""task_urge.kind: 'urge' (催办) or 'escalation' (督办上报), instead of a mark at the start of the note

Rows written before are classified by the audit trail, which names the urge of each
`task.escalate` row (a plain urge whose note began with the mark was counted as an
escalation before; the audit trail knows better). task_urge is append-only: its
triggers are lifted for the one backfill statement and put back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "task_urge", sa.Column("kind", sa.String(20), nullable=False, server_default="urge")
    )
    bind = op.get_bind()
    escalated = sorted(
        {
            int(detail["urge_id"])
            for (raw,) in bind.execute(
                sa.text("SELECT detail FROM audit_event WHERE action = 'task.escalate'")
            )
            if isinstance(detail := _loads(raw), dict) and isinstance(detail.get("urge_id"), int)
        }
    )
    if escalated:
        _lift_append_only(bind.dialect.name)
        bind.execute(
            sa.text("UPDATE task_urge SET kind = 'escalation' WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": escalated},
        )
        _restore_append_only(bind.dialect.name)


def _loads(raw: str | None) -> object:
    try:
        return json.loads(raw or "{}")
    except ValueError:
        return None


def _lift_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE task_urge DISABLE TRIGGER task_urge_append_only")
    else:
        op.execute("DROP TRIGGER task_urge_no_update")


def _restore_append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("ALTER TABLE task_urge ENABLE TRIGGER task_urge_append_only")
    else:
        op.execute("""
            CREATE TRIGGER task_urge_no_update BEFORE UPDATE ON task_urge
            BEGIN SELECT RAISE(ABORT, 'task_urge is append-only'); END""")


def downgrade() -> None:
    op.execute("ALTER TABLE task_urge DROP COLUMN kind")  # SQLite ≥ 3.35 too; the triggers stay
