"""退回 and 撤回 on the task page: the forms post here; a refusal is worded beside its field
(or, for a point of no return, at the top of the page) and nothing is changed."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_babel import gettext as _

from server import auth
from server.errors import said
from server.ui import form_errors
from server.ui.common import bp, redirect_with
from server.ui.task_page import render
from workflows.errors import Conflict, Forbidden, ValidationFailed
from workflows.tasks import going_back


def _refused(task_id: int, verb: str, err: ValidationFailed, **posted: str) -> Any:
    errors = {e["field"]: said(e["message"]) for e in err.errors} or {"reason": said(err.message)}
    return render(task_id, going_back={"verb": verb, "errors": errors, **posted}, status=422)


@bp.post("/tasks/<int:task_id>/return")
def task_return(task_id: int) -> Any:
    """退回: the case goes back from this open task to a step it passed through."""
    form_errors.require_token()
    rt = auth.runtime()
    to_step = request.form.get("to_step", "").strip()[:200]
    reason = request.form.get("reason", "")[: going_back.REASON_MAX + 1]
    try:
        with auth.writing() as (session, principal):
            went = going_back.send_back(
                session,
                principal=principal,
                task_id=task_id,
                to_step=to_step,
                reason=reason,
                clock=rt.clock,
            )
            name = went.reopened.name
    except ValidationFailed as err:
        return _refused(task_id, "return", err, to_step=to_step, reason=reason)
    except (Conflict, Forbidden) as err:
        return redirect_with(url_for("ui.task", task_id=task_id), said(err.message), "error")
    return redirect_with(url_for("ui.inbox"), _("已退回至「%(name)s」", name=name), "success")


@bp.post("/tasks/<int:task_id>/withdraw")
def task_withdraw(task_id: int) -> Any:
    """撤回: the step I completed opens again for me, with what I had entered."""
    form_errors.require_token()
    rt = auth.runtime()
    reason = request.form.get("reason", "")[: going_back.REASON_MAX + 1]
    try:
        with auth.writing() as (session, principal):
            went = going_back.withdraw(
                session, principal=principal, task_id=task_id, reason=reason, clock=rt.clock
            )
            reopened, name = went.reopened.id, went.reopened.name
    except ValidationFailed as err:
        return _refused(task_id, "withdraw", err, reason=reason)
    except (Conflict, Forbidden) as err:
        return redirect_with(url_for("ui.task", task_id=task_id), said(err.message), "error")
    return redirect_with(
        url_for("ui.task", task_id=reopened), _("已撤回：%(name)s", name=name), "success"
    )
