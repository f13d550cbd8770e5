"""邮件投递: the scheduler's job that sends the outbox's due e-mails over SMTP (smtplib).

Each mail is claimed, sent and marked in **one transaction**: the row is selected with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (so schedulers in several processes share the work and
never hold one row at once; on SQLite the write transaction, BEGIN IMMEDIATE, is the claim),
marked sent *before* the SMTP conversation, and committed right after the server accepted the
message. A claimed row is re-read under its lock, so a row another process sent and committed
is never claimed again. What remains is SMTP's own window: the server accepted the message and
the commit then fails (the database went away in that instant), or the server's acceptance is
lost on the wire; the row stays pending and is sent again — at least once in that one case,
never twice otherwise. Each message carries a Message-ID made from its row, so a mail system
that keeps them can recognise such a repeat.

A failed send counts the attempt, keeps the error and waits 1, 2, 4, 8, 16 minutes before the
next try; the sixth failure gives the mail up (`failed_at`), and it waits for an administrator
(`outbox_admin.retry`). A server that cannot be reached fails every due mail once, in one
transaction, without sending anything. The SMTP connection is opened outside the database
transactions and kept for the run, so a transaction lasts one message's exchange.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from workflows.engine import settings
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.engine.models import table_of
from workflows.tasks import outbox
from workflows.tasks.outbox import MailOutbox, SmtpServer

log = logging.getLogger(__name__)

#: Minutes to wait after the 1st … 5th failed try; the 6th (`outbox.MAX_ATTEMPTS`) gives up.
BACKOFF_MINUTES = (1, 2, 4, 8, 16)
#: Seconds between delivery runs at least (the scheduler's interval may be longer).
INTERVAL_FLOOR = 10.0
#: Seconds an SMTP connection or exchange may take (also bounds a transaction's length).
SMTP_TIMEOUT = 20.0
#: Mails one run sends at most; the next run goes on.
RUN_LIMIT = 500

_OUTBOX = table_of(MailOutbox)
assert len(BACKOFF_MINUTES) == outbox.MAX_ATTEMPTS - 1


def deliver(db: Database, *, clock: Clock, limit: int = RUN_LIMIT) -> int:
    """Sends the due mails, one transaction each, while mail is configured; returns how many
    the SMTP server accepted. A mail is never claimed by two runs at once (see the module)."""
    server = outbox.current().server
    if server is None:
        return 0
    sent = 0
    connection: smtplib.SMTP | None = None
    try:
        for _ in range(limit):
            if connection is None:
                if not _any_due(db, clock):
                    break
                try:
                    connection = connect(server)
                except (OSError, smtplib.SMTPException) as err:
                    failed = _fail_due(db, clock=clock, error=_describe(err), limit=limit)
                    log.warning("SMTP server unreachable: %d mail(s) to retry: %s", failed, err)
                    break
            outcome = _send_next(db, clock=clock, connection=connection)
            if outcome is None:
                break
            if outcome:
                sent += 1
            else:  # the connection may be broken: a fresh one for the next mail
                _close(connection)
                connection = None
    finally:
        if connection is not None:
            _close(connection)
    return sent


def connect(server: SmtpServer) -> smtplib.SMTP:
    """An SMTP session with `server`, encrypted and logged in as its URL says."""
    context = ssl.create_default_context()
    connection: smtplib.SMTP
    if server.tls:
        connection = smtplib.SMTP_SSL(
            server.host, server.port, timeout=SMTP_TIMEOUT, context=context
        )
    else:
        connection = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
    try:
        connection.ehlo_or_helo_if_needed()
        if server.starttls:
            connection.starttls(context=context)
            connection.ehlo()
        if server.username is not None:
            connection.login(server.username, server.password or "")
    except BaseException:
        _close(connection)
        raise
    return connection


def message_of(row: Any, *, sender: str, now: datetime) -> EmailMessage:
    """The e-mail of an outbox row: plain UTF-8 text (base64), its Message-ID made from the row."""
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = sender
    message["To"] = row.address
    message["Date"] = format_datetime(now)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<mail-{row.id}.{row.created_at:%Y%m%d%H%M%S}@{domain}>"
    message.set_content(row.body, cte="base64")  # 7-bit clean: no server needs 8BITMIME
    return message


def backoff(attempts: int) -> timedelta | None:
    """The wait after `attempts` failed tries; None once the mail is given up."""
    if attempts >= outbox.MAX_ATTEMPTS:
        return None
    return timedelta(minutes=BACKOFF_MINUTES[max(attempts, 1) - 1])


# -- one mail ----------------------------------------------------------------------------
def _due(now: datetime) -> Select[Any]:
    return (
        select(_OUTBOX.c.id, _OUTBOX.c.address, _OUTBOX.c.subject, _OUTBOX.c.body)
        .add_columns(_OUTBOX.c.created_at, _OUTBOX.c.attempts)
        .where(
            _OUTBOX.c.next_attempt_at <= now,
            _OUTBOX.c.sent_at.is_(None),
            _OUTBOX.c.failed_at.is_(None),
        )
        .order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id)
    )


def _claimed(session: Session, query: Select[Any]) -> Select[Any]:
    """The claim: rows locked by another transaction are skipped, not waited for
    (PostgreSQL); SQLite's write transaction already excludes every other writer."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def _any_due(db: Database, clock: Clock) -> bool:
    with db.reading() as session:
        settings.sync_clock(session, clock)
        return session.execute(_due(clock.now()).limit(1)).first() is not None


def _send_next(db: Database, *, clock: Clock, connection: smtplib.SMTP) -> bool | None:
    """Claims, sends and marks one due mail in one transaction: True sent, False failed (the
    attempt counted), None when no mail is due (or all are being sent by others)."""
    with db.transaction() as session:
        settings.sync_clock(session, clock)
        now = clock.now()
        row = session.execute(_claimed(session, _due(now).limit(1))).first()
        if row is None:
            return None
        # Marked sent first: once the server has accepted the message only the commit is left.
        session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == row.id)
            .values(sent_at=now, next_attempt_at=None, attempts=row.attempts + 1)
        )
        sender = outbox.current().sender
        try:
            message = message_of(row, sender=sender, now=now)
            connection.send_message(
                message, from_addr=parseaddr(sender)[1] or sender, to_addrs=[row.address]
            )
        except Exception as err:  # noqa: BLE001 - any failure of this mail is its failure
            _record_failure(session, row.id, row.attempts + 1, _describe(err), now)
            log.warning("mail %d not sent (try %d): %s", row.id, row.attempts + 1, err)
            return False
        return True


def _record_failure(
    session: Session, mail_id: int, attempts: int, error: str, now: datetime
) -> None:
    wait = backoff(attempts)
    session.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id == mail_id)
        .values(
            sent_at=None,
            attempts=attempts,
            last_error=error,
            next_attempt_at=None if wait is None else now + wait,
            failed_at=now if wait is None else None,
        )
    )


def _fail_due(db: Database, *, clock: Clock, error: str, limit: int) -> int:
    """Counts a failed try on every due mail (the server could not be reached)."""
    with db.transaction() as session:
        settings.sync_clock(session, clock)
        now = clock.now()
        rows = session.execute(_claimed(session, _due(now).limit(limit))).all()
        for row in rows:
            _record_failure(session, row.id, row.attempts + 1, error, now)
        return len(rows)


def _describe(err: BaseException) -> str:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address}: {code} {reply.decode('utf-8', 'replace')}"
            for address, (code, reply) in err.recipients.items()
        )
        return f"收件人被拒绝：{refused}"[:1000]
    if isinstance(err, smtplib.SMTPResponseException):
        reply = (
            err.smtp_error.decode("utf-8", "replace")
            if isinstance(err.smtp_error, bytes)
            else err.smtp_error
        )
        return f"邮件服务器拒绝（{err.smtp_code}）：{reply}"[:1000]
    if isinstance(err, (ConnectionError, TimeoutError, smtplib.SMTPServerDisconnected)):
        return f"无法连接邮件服务器：{type(err).__name__}: {err}"[:1000]
    return f"{type(err).__name__}: {err}"[:1000]


def _close(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (OSError, smtplib.SMTPException):
        connection.close()
