"""blacklist entries are append-only; an entry is removed at most once

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ux_blacklist_entry_removes", "blacklist_entry", ["removes_entry_id"], unique=True
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION blacklist_entry_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'blacklist_entry is append-only'; END; $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER blacklist_entry_append_only BEFORE UPDATE OR DELETE ON blacklist_entry
            FOR EACH ROW EXECUTE FUNCTION blacklist_entry_append_only()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER blacklist_entry_no_{event.lower()} BEFORE {event} ON blacklist_entry
                BEGIN SELECT RAISE(ABORT, 'blacklist_entry is append-only'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS blacklist_entry_append_only ON blacklist_entry")
        op.execute("DROP FUNCTION IF EXISTS blacklist_entry_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS blacklist_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS blacklist_entry_no_delete")
    op.drop_index("ux_blacklist_entry_removes", "blacklist_entry")
