"""我的案件 (/mine): a cadre's home — their cases with a status they understand, the decisions
served on them with the appeal button and its last day, their applications and the steps they
owe — and where a cadre lands instead of the officials' queue and case list.

The page renders `workflows/cases/cadre_views.py`, the view `GET /api/v1/me/cases` dumps; what
a cadre may not see (internal steps, supervision, lanes, diagrams, login names, a decision
not yet served) is left out there, not here.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for

from server import auth
from server.ui.case_new import button_label
from server.ui.common import bp, redirect_with
from workflows.access import Principal
from workflows.cases import cadre_views
from workflows.official import views as official_views


def is_cadre(principal: Principal) -> bool:
    """The principal is a cadre user (their home is 我的案件, not a queue)."""
    return principal.role == "cadre"


def to_my_cases() -> Any:
    """A cadre asking for an official's page (the queue, the case list) goes home instead."""
    return redirect_with(url_for("ui.my_cases"))


@bp.get("/mine", endpoint="my_cases")
def my_cases() -> Any:
    """My cases, the decisions served on me with the appeal window, my applications, my steps."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        home = cadre_views.my_cases(session, principal=principal, clock=rt.clock)
        new_case = button_label(principal) if home.may_apply else None
        served = official_views.served_to_me(session, principal=principal)
    return render_template("my_cases.html", home=home, new_case=new_case, served=served)
