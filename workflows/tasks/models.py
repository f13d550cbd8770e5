"""Records of work on tasks: comments, urges (催办), notifications and form drafts. All
append-only except a notification's read mark and a draft (replaced, then deleted)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base, UTCDateTime


class TaskComment(Base):
    """A remark on a task, visible to everyone who may see the task."""

    __tablename__ = "task_comment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


#: TaskUrge.kind: a 催办, or a 督办上报 (escalation).
URGE, ESCALATION = "urge", "escalation"
URGE_KINDS = (URGE, ESCALATION)


class TaskUrge(Base):
    """催办: a supervisor pressed for an open task, with a note; shown on the case. `kind` is
    'urge', or 'escalation' for 督办上报 (its note starts with 【督办上报】 as shown)."""

    __tablename__ = "task_urge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    urged_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20), default=URGE, server_default=URGE)


class Notification(Base):
    """An in-app message to one user: assigned, urged, due_soon, overdue, decided.

    `dedupe` keeps the deadline sweep from repeating itself: one due_soon and one
    overdue notice per task and user."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_inbox", "username", "read_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text, default="")
    task_id: Mapped[int | None] = mapped_column(Integer)
    case_id: Mapped[int | None] = mapped_column(Integer)
    dedupe: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TaskDraft(Base):
    """保存草稿: the form of an open task as last saved, not yet validated; replaced by each
    save and deleted when the task is completed."""

    __tablename__ = "task_draft"

    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    data: Mapped[str] = mapped_column(Text)  # JSON object: the form's values as entered
    saved_by: Mapped[str] = mapped_column(String(100))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GoingBack(Base):
    """退回 (`return`: the holder of an open step sends the case back to a step it passed
    through) or 撤回 (`withdraw`: whoever completed a step takes it back): the completed step
    `target_task_id` reopened as `reopened_task_id`, with the reason. The records the undone
    steps wrote are superseded (`RecordSupersession`), never deleted."""

    __tablename__ = "going_back"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # return, withdraw
    from_task_id: Mapped[int | None] = mapped_column(ForeignKey("human_task.id"))
    target_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"))
    reopened_task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
