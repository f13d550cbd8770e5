"""Tables of the engine core: versions, instances and their projections, timers, audit.

Instance state is the SpiffWorkflow serializer's JSON (without the spec); the other
tables are projections written in the same transaction, and queries read only them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere (SQLite has no time zones); read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """A mapped class's Table, typed for Core statements."""
    return cast(Table, model.__table__)


class ProcessVersion(Base):
    """An immutable deployed version of one process, keyed by the hash of its content."""

    __tablename__ = "process_version"
    __table_args__ = (
        UniqueConstraint("process_key", "content_hash"),
        UniqueConstraint("process_key", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(400))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(400))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    forms_json: Mapped[str] = mapped_column(Text)
    start_timer: Mapped[bool] = mapped_column(Boolean, default=False)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(200))
    # 版本说明: the designer's change note (None for versions deployed before notes existed)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # how many lint warnings the deployer confirmed for this process
    confirmed_warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DecisionVersion(Base):
    """An immutable deployed DMN file (decision tables are also pinned in process specs)."""

    __tablename__ = "decision_version"
    __table_args__ = (
        UniqueConstraint("decision_key", "content_hash"),
        UniqueConstraint("decision_key", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(400))
    dmn_xml: Mapped[str] = mapped_column(Text)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(200))
    # 版本说明 (None for versions deployed before decision notes were kept)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class FormDraft(Base):
    """A form being edited in the browser's form designer, not yet deployed: the schema and
    UI schema text as last saved. Each save bumps `revision` and must name the revision it
    started from, so that a second designer saving the same draft is told, not overwritten.
    Deploying a process that uses the form pins the draft in the new version and deletes it."""

    __tablename__ = "form_draft"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stem: Mapped[str] = mapped_column(String(200), unique=True)
    schema_json: Mapped[str] = mapped_column(Text)
    uischema_json: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    base_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    saved_by: Mapped[str] = mapped_column(String(200))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Instance(Base):
    """A running or finished process instance; `state` is changed only by `advance`."""

    __tablename__ = "instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    org_unit: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    state: Mapped[str] = mapped_column(Text)
    state_format: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class HumanTask(Base):
    """Projection of a user task, for queues: who owes it, since when, until when."""

    __tablename__ = "human_task"
    __table_args__ = (
        # who holds the task too: a queue's length is counted from the index alone
        Index("ix_human_task_queue", "state", "role", "org_unit", "due_at", "assignee", "owner"),
        Index("ix_human_task_assignee", "state", "assignee", "due_at"),
        Index("ix_human_task_instance", "instance_id", "state"),
        Index("ix_human_task_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    process_key: Mapped[str] = mapped_column(String(200))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(400))
    role: Mapped[str | None] = mapped_column(String(50))
    org_unit: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))  # who delegated it to the assignee
    form: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_basis: Mapped[str | None] = mapped_column(String(400))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(200))
    #: 督办期限: a new limit a supervisor's escalation set, shown beside the original `due_at`
    #: (overdue days always count from `due_at`).
    supervision_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Timer(Base):
    """A waiting timer of an instance; the sweep fires rows whose `fire_at` has passed."""

    __tablename__ = "timer"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TaskAlarm(Base):
    """A step's time-limit alarm: a reminder before its due date (`remind`), the moment it
    falls overdue (`overdue`), or the end of a 督办期限 (`supervision`). Keyed like the
    timers by instance and engine task; the alarm sweep fires each once and deletes it, and
    drops the alarms of steps that are no longer open."""

    __tablename__ = "task_alarm"
    __table_args__ = (UniqueConstraint("instance_id", "spiff_task_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(20))
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StepEffect(Base):
    """What a completed step wrote beside the engine: a record it added (`insert`), the
    values it changed on one (`update`, with the values before in `before`), or another
    instance it moved (`informed`). 退回 and 撤回 read them to supersede what they undo."""

    __tablename__ = "step_effect"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), index=True)
    change: Mapped[str] = mapped_column(String(10))  # insert, update, informed
    record_table: Mapped[str | None] = mapped_column(String(60))
    record_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[str | None] = mapped_column(Text)  # JSON {column: value} of an update
    other_instance_id: Mapped[int | None] = mapped_column(Integer)


class RecordSupersession(Base):
    """A record written by a step that was sent back or withdrawn: it no longer counts, and
    this entry points at it and at the going back that undid it."""

    __tablename__ = "record_supersession"
    __table_args__ = (UniqueConstraint("record_table", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    going_back_id: Mapped[int] = mapped_column(ForeignKey("going_back.id"), index=True)
    record_table: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class InstanceMigration(Base):
    """One move of an instance to another version of its process (迁移), with the state it
    had before, so that the move can be reverted while the instance has not moved on."""

    __tablename__ = "instance_migration"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    old_state: Mapped[str] = mapped_column(Text)
    old_state_format: Mapped[int] = mapped_column(Integer)
    #: The instance's row version right after the move: a revert needs it unchanged.
    instance_version: Mapped[int] = mapped_column(Integer)
    migrated_by: Mapped[str] = mapped_column(String(200))
    migrated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reverted_by: Mapped[str | None] = mapped_column(String(200))
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimeLimitSetting(Base):
    """An administrator's time limit for one step of a process, overriding the default its
    BPMN declares (`timeLimit`); steps whose limit a rule fixes have none."""

    __tablename__ = "time_limit_setting"

    process_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    element: Mapped[str] = mapped_column(String(200), primary_key=True)
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(20))  # workdays, months, days
    reminder_workdays: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only trail; each row carries the hash of the previous one."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(100))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row writers lock to append to the chain in order."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))


class CalendarOverride(Base):
    """An admin's ruling on one day (holiday or 调休 working day)."""

    __tablename__ = "calendar_override"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    is_workday: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")


class CalendarYear(Base):
    """A year an admin declared known: days without an override follow Monday–Friday."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(String(200), default="")


class Setting(Base):
    """Deployment settings as JSON values (deadline defaults, the adjustable clock offset)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
