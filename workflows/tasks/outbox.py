"""邮件发件箱 (mail outbox): the e-mails of in-app notices, queued in the notice's own
transaction and sent by the scheduler (`workflows.tasks.mail`).

Mail is on while the deployment names an SMTP server (CADREFLOW_SMTP_URL): the Runtime passes
its settings to `configure` once, as it passes the engine's step limits. While on, `notify`
queues one row per notice whose user is active and has an address; a notice deduplicated away
queues nothing, and a rolled-back change takes its mail with it. While off, nothing is queued:
in-app notices stay the default, and switching mail on later sends no backlog of stale notices.

A row is pending (待发送: it has a `next_attempt_at`), sent (已发送: `sent_at`) or failed
(发送失败: `failed_at`, after `MAX_ATTEMPTS` tries); administrators see the rows of the users of
their units and put a failed one back to pending (`workflows.tasks.outbox_admin`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import ForeignKey, Index, Integer, String, Text, bindparam, insert, literal, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.config import Settings
from workflows.engine.clock import Clock
from workflows.engine.models import Base, UTCDateTime, table_of
from workflows.org.models import User

PENDING, SENT, FAILED = "pending", "sent", "failed"
STATUS_NAMES = {PENDING: "待发送", SENT: "已发送", FAILED: "发送失败"}
#: Delivery tries before a mail is given up (the waits between them: `mail.BACKOFF_MINUTES`).
MAX_ATTEMPTS = 6
SUBJECT_PREFIX = "【cadreflow】"


class MailOutbox(Base):
    """One e-mail of one notice to one address, from queued to sent or given up."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        Index("ix_mail_outbox_due", "next_attempt_at", "id"),
        Index("ix_mail_outbox_username", "username", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"))
    username: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(254))  # the user's address when queued
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: sent or failed
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # given up


def status_of(row: MailOutbox) -> str:
    if row.sent_at is not None:
        return SENT
    return FAILED if row.failed_at is not None else PENDING


# -- configuration -----------------------------------------------------------------------
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class SmtpServer:
    """Where mail goes: `smtp://[user:password@]host[:port][?starttls=1]` or `smtps://…`."""

    host: str
    port: int
    tls: bool = False  # smtps: TLS from the first byte
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_smtp_url(url: str) -> SmtpServer:
    """The server an SMTP URL names; ValueError (naming CADREFLOW_SMTP_URL) for anything else."""
    parts = urlsplit(url)
    problem = None
    if parts.scheme not in ("smtp", "smtps"):
        problem = "应以 smtp:// 或 smtps:// 开头"
    elif not parts.hostname:
        problem = "缺少主机名"
    try:
        port = parts.port
    except ValueError:
        problem = problem or "端口应为 1–65535 的整数"
        port = None
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - {"starttls"})
    if problem is None and unknown:
        problem = f"不认识的参数 {', '.join(unknown)}（只有 starttls=1）"
    starttls = options.get("starttls", "").strip().lower() in _TRUE
    if problem is None and starttls and parts.scheme == "smtps":
        problem = "smtps:// 已全程加密，不能再加 starttls"
    if problem is not None:
        raise ValueError(f"CADREFLOW_SMTP_URL：{problem}")
    assert parts.hostname is not None
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 25),
        tls=parts.scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


@dataclass(frozen=True)
class MailConfig:
    """Whether and how notices go out by e-mail: `server` None means in-app only."""

    server: SmtpServer | None = None
    sender: str = "cadreflow@localhost"
    base_url: str = "http://127.0.0.1:5000"

    @property
    def enabled(self) -> bool:
        return self.server is not None

    @classmethod
    def of(cls, settings: Settings) -> MailConfig:
        return cls(
            server=parse_smtp_url(settings.smtp_url) if settings.smtp_url else None,
            sender=settings.smtp_from,
            base_url=settings.base_url.rstrip("/"),
        )


_config = MailConfig()


def configure(config: MailConfig) -> None:
    """Sets this process's mail configuration (the Runtime does, from its settings)."""
    global _config
    _config = config


def current() -> MailConfig:
    return _config


# -- queueing ----------------------------------------------------------------------------
_OUTBOX = table_of(MailOutbox)
_USERS = table_of(User)
#: One statement: the row is queued only for an active user with an address.
_QUEUE = insert(_OUTBOX).from_select(
    ["notification_id", "username", "address", "subject", "body", "created_at", "attempts"]
    + ["next_attempt_at"],
    select(
        bindparam("notification_id", type_=Integer),
        _USERS.c.username,
        _USERS.c.email,
        bindparam("subject", type_=String(400)),
        bindparam("body", type_=Text),
        bindparam("now", type_=UTCDateTime),
        literal(0, Integer),
        bindparam("now", type_=UTCDateTime),
    ).where(
        _USERS.c.username == bindparam("username"),
        _USERS.c.email.is_not(None),
        _USERS.c.active.is_(True),
    ),
)


def subject_of(title: str) -> str:
    return f"{SUBJECT_PREFIX}{title}"[:400]


def body_of(
    title: str, body: str, *, task_id: int | None, case_id: int | None, base_url: str
) -> str:
    """The mail's text: the notice, then where to act on it."""
    lines = ["您好：", "", title]
    if body:
        lines.append(body)
    links = []
    if task_id is not None:
        links.append(f"办理任务：{base_url}/tasks/{task_id}")
    if case_id is not None:
        links.append(f"查看案件：{base_url}/cases/{case_id}")
    if links:
        lines += ["", *links]
    lines += ["", "——", "本邮件由 cadreflow 系统自动发送，请勿直接回复。请登录系统查看和办理。"]
    return "\n".join(lines) + "\n"


def enqueue(
    session: Session,
    *,
    notification_id: int,
    username: str,
    title: str,
    body: str,
    task_id: int | None,
    case_id: int | None,
    clock: Clock,
) -> bool:
    """Queues the e-mail of one notice in the caller's transaction, due at once — when mail
    is configured and the user is active with an address; says whether it did."""
    config = _config
    if not config.enabled:
        return False
    result = session.connection().execute(
        _QUEUE,
        {
            "notification_id": notification_id,
            "username": username,
            "subject": subject_of(title),
            "body": body_of(
                title, body, task_id=task_id, case_id=case_id, base_url=config.base_url
            ),
            "now": clock.now(),
        },
    )
    return bool(result.rowcount)
