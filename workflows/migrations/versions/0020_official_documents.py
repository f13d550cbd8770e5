"""official documents (公文): template versions, generated documents, 文号 counters, service
(送达) and signed receipts (送达回证); templates, services and receipts are append-only

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from workflows.engine.models import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

APPEND_ONLY = ("official_template", "official_service", "official_receipt")


def upgrade() -> None:
    op.create_table(
        "official_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False, index=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("kind", "version"),
    )
    op.create_table(
        "official_number_counter",
        sa.Column("org_unit_code", sa.String(50), primary_key=True),
        sa.Column("prefix", sa.String(40), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "official_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id", sa.Integer(), sa.ForeignKey("case_file.id"), nullable=False, index=True
        ),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(80), nullable=True),
        sa.Column("org_unit_code", sa.String(50), nullable=False),
        sa.Column("prefix", sa.String(40), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decision.id"), nullable=True),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("template_sha256", sa.String(64), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column(
            "docx_document_id", sa.Integer(), sa.ForeignKey("case_document.id"), nullable=False
        ),
        sa.Column(
            "pdf_document_id", sa.Integer(), sa.ForeignKey("case_document.id"), nullable=True
        ),
        sa.Column("pdf_error", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=True),
        sa.Column("generated_by", sa.String(100), nullable=False),
        sa.Column("generated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("case_id", "kind", "issue", "version"),
        sa.UniqueConstraint("org_unit_code", "prefix", "year", "seq", "version"),
    )
    op.create_table(
        "official_service",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "official_document_id",
            sa.Integer(),
            sa.ForeignKey("official_document.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("manner", sa.String(30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_task.id"), nullable=True),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "official_receipt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "official_document_id",
            sa.Integer(),
            sa.ForeignKey("official_document.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("case_document.id"), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )
    for table in APPEND_ONLY:
        _append_only(table)


def _append_only(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql""")
        op.execute(f"""
            CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""")


def downgrade() -> None:
    for table in ("official_receipt", "official_service", "official_document"):
        op.drop_table(table)
    op.drop_table("official_number_counter")
    op.drop_table("official_template")
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
