"""The incident table: one row per stuck instance at a time (a partial unique index)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base, UTCDateTime

#: Incident.status: open (the instance's timers wait for it), resolved (a retry fired
#: them), cancelled (a person withdrew the failing timers).
OPEN, RESOLVED, CANCELLED = "open", "resolved", "cancelled"
STATUSES = (OPEN, RESOLVED, CANCELLED)
#: Incident.kind: what failed. Only timer firings run unattended; a person's own step that
#: fails is refused to that person instead.
TIMER = "timer"


class Incident(Base):
    """A failure of an unattended step on an instance: where, why, since when, how often."""

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_status", "status", "last_seen"),
        Index(
            "uq_incident_open",
            "instance_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    element: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: waits for a person
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
