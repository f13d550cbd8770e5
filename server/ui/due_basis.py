"""How a step's due date was computed (期限如何计算), in the page's language.

workflows/engine/time_limits.py stores the basis as Chinese text on the step
(`HumanTask.due_basis`), and the API gives it as stored. Pages read the shapes it writes — a
count from a labelled day (`立案之日 2026-04-01 起30个工作日`, in working days, months or
calendar days, with the rule fixing it in brackets), the due date of another step
(`与“责任调查”同时到期：…`, `与步骤 X 同时到期`), an explicit date (`期限 2026-06-04`) and the
dates the process definitions word (`责令限期整改：2026-06-04 前完成`, the yearly talks') —
and word them through the catalog: the day's label by `label`, a step's name by `content`,
people's names and element ids marked as data. A basis of any other shape shows as stored.
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from server.ui.i18n import content
from workflows.engine import time_limits

_DAY = r"\d{4}-\d{2}-\d{2}"
_COUNTED = re.compile(
    rf"(?P<label>\S+) (?P<day>{_DAY}) 起(?P<amount>\d+)(?P<unit>个工作日|个月|日)"
    r"(?:（(?P<policy>.+)）)?"
)
_SAME_AS = re.compile(r"与“(?P<step>.+?)”同时到期：(?P<basis>.+)")
_SAME_AS_STEP = re.compile(r"与步骤 (?P<element>\S+) 同时到期")
_EXPLICIT = re.compile(rf"期限 (?P<day>{_DAY})")
_RECTIFICATION = re.compile(rf"责令限期整改：(?P<day>{_DAY}) 前完成")
_YEARLY_TALK = re.compile(
    rf"(?P<year>\d{{4}})年度谈心谈话：(?P<upper>.+?) 与 (?P<lower>.+)，(?P<day>{_DAY}) 前完成"
)

#: A count from a labelled day, by the unit's name as time_limits writes it.
COUNTED = {
    time_limits.UNIT_NAMES[time_limits.WORKDAYS]: _l("%(label)s %(day)s 起%(amount)s个工作日"),
    time_limits.UNIT_NAMES[time_limits.MONTHS]: _l("%(label)s %(day)s 起%(amount)s个月"),
    time_limits.UNIT_NAMES[time_limits.DAYS]: _l("%(label)s %(day)s 起%(amount)s日"),
}
SAME_AS = _l("与“%(step)s”同时到期：%(basis)s")
SAME_AS_STEP = _l("与步骤 %(element)s 同时到期")
EXPLICIT = _l("期限 %(day)s")
RECTIFICATION = _l("责令限期整改：%(day)s 前完成")
YEARLY_TALK = _l("%(year)s年度谈心谈话：%(upper)s 与 %(lower)s，%(day)s 前完成")
POLICY = _l("%(basis)s（%(policy)s）")


def _data(text: str) -> Markup:
    return Markup('<span translate="no">%s</span>') % text


def _worded(pattern: object, **values: object) -> Markup:
    """`pattern` in the page's language, its values escaped (or kept where already Markup)."""
    return escape(str(pattern)) % values


def worded(basis: str | None) -> Markup | str | None:
    """A stored due basis in the page's language; a basis of an unknown shape as stored."""
    if not basis:
        return basis
    if found := _SAME_AS.fullmatch(basis):
        inner = worded(found["basis"])
        return _worded(SAME_AS, step=content(found["step"]), basis=inner)
    if found := _COUNTED.fullmatch(basis):
        counted = _worded(
            COUNTED[found["unit"]],
            label=content(found["label"]),
            day=found["day"],
            amount=found["amount"],
        )
        if found["policy"]:
            return _worded(POLICY, basis=counted, policy=content(found["policy"]))
        return counted
    if found := _SAME_AS_STEP.fullmatch(basis):
        return _worded(SAME_AS_STEP, element=_data(found["element"]))
    if found := _EXPLICIT.fullmatch(basis):
        return _worded(EXPLICIT, day=found["day"])
    if found := _RECTIFICATION.fullmatch(basis):
        return _worded(RECTIFICATION, day=found["day"])
    if found := _YEARLY_TALK.fullmatch(basis):
        return _worded(
            YEARLY_TALK,
            year=found["year"],
            upper=_data(found["upper"]),
            lower=_data(found["lower"]),
            day=found["day"],
        )
    return basis
