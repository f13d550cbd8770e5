"""Work on human tasks besides completing them: claim, delegate, transfer, urge (催办),
comments, and the in-app notifications they and the deadlines raise."""

from workflows.engine.hooks import Registry
from workflows.tasks import consultations, copies, deadlines, drafts, mail, notifications

#: Deadline notices are about days: sweeping for them more often than this buys nothing.
NOTIFICATION_INTERVAL_FLOOR = 30.0


def register(registry: Registry) -> None:
    """A completed task's draft goes and the cadre is told of decisions (completion
    listeners); process assignments are announced by a periodic sweep, and the steps'
    time-limit alarms (reminders, overdue, 督办期限) fire from another; a third sends the
    notices' queued e-mails where mail is configured. A step with an open request for
    opinions (加签) refuses completion; every request and copy has its audit row."""
    registry.add_module(drafts)
    registry.add_module(notifications)
    # 加签: a step with a request for opinions still open is not completed.
    registry.add_module(consultations)
    registry.read_with_lock(consultations.WAITING)
    registry.audited_record("consultation.ask", *consultations.ASKED)
    registry.audited_record("task.copy", *copies.COPIED)
    registry.every(
        "notification-sweep", notifications.sweep, min_interval=NOTIFICATION_INTERVAL_FLOOR
    )
    registry.every("time-limit-alarms", deadlines.sweep, min_interval=NOTIFICATION_INTERVAL_FLOOR)
    registry.every("mail-delivery", mail.deliver, min_interval=mail.INTERVAL_FLOOR)
