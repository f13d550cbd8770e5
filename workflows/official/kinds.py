"""The kinds of official document (DOMAIN.md §7), the step whose completion issues each, and
the rule each cites."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of document: its title, the case process it belongs to, the action of the step
    that issues it, its 机关代字 suffix (the default 文号 prefix is the unit's name with it) and
    the rules it cites. A served kind is handed over at a 送达 step with a 送达回证."""

    key: str
    title: str
    case_kind: str
    issued_by_action: str | None
    code: str
    rule: str
    served: bool


ACCOUNTABILITY = "accountability_decision"
TOLERANCE = "tolerance_opinion"
APPEAL = "appeal_review_decision"
RECTIFICATION = "rectification_notice"
CLARIFICATION = "clarification_letter"
RECEIPT = "service_receipt"

#: The kinds' titles, which pages name a kind by (`label`); an issued document keeps its own.
TITLES = {
    ACCOUNTABILITY: "问责决定书",
    TOLERANCE: "容错免责认定意见书",
    APPEAL: "申诉复核决定书",
    RECTIFICATION: "责令整改通知书",
    CLARIFICATION: "澄清正名函",
    RECEIPT: "送达回证",
}
_OPINION = "《关于进一步激励广大干部新时代新担当新作为的实施意见》"
KINDS: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        Kind(
            ACCOUNTABILITY,
            TITLES[ACCOUNTABILITY],
            "accountability",
            "accountability_decide",
            "纪问",
            f"{_OPINION}第六条、第十一条，《中国共产党问责条例》",
            served=True,
        ),
        Kind(
            TOLERANCE,
            TITLES[TOLERANCE],
            "tolerance_review",
            "tolerance.approve",
            "纪容",
            f"{_OPINION}第十条、第十一条、第十二条",
            served=True,
        ),
        Kind(
            APPEAL,
            TITLES[APPEAL],
            "appeal",
            "appeal_review",
            "纪复",
            f"《中国共产党问责条例》第二十条，{_OPINION}第十一条",
            served=True,
        ),
        Kind(
            RECTIFICATION,
            TITLES[RECTIFICATION],
            "rectification",
            "rectification_issue",
            "纪整",
            f"{_OPINION}第十二条",
            served=False,
        ),
        Kind(
            CLARIFICATION,
            TITLES[CLARIFICATION],
            "clarification",
            "clarification_clarify",
            "纪澄",
            f"{_OPINION}第十二条",
            served=False,
        ),
        Kind(RECEIPT, TITLES[RECEIPT], "", None, "", "", served=False),
    )
}
#: The decision document each case process issues.
BY_CASE_KIND = {kind.case_kind: kind for kind in KINDS.values() if kind.case_kind}
#: The kinds each issuing step's action generates.
BY_ACTION = {
    kind.issued_by_action: kind for kind in KINDS.values() if kind.issued_by_action is not None
}
#: Steps that issue a kind's document anew on one outcome of their form, (field, value, kind):
#: a 验收 returning the rectification with a new deadline issues a new 责令整改通知书 (a new
#: 文号) stating the added requirement and the new deadline.
REISSUING_ACTIONS = {"rectification_verify": ("result", "returned", RECTIFICATION)}
#: The actions of the 送达 steps: their completion records the service of the case's document.
SERVING_ACTIONS = {
    "accountability_notify": ("received_on", "delivery", "delivery_note"),
    "tolerance.notify": ("received_on", "delivery", "delivery_note"),
    "appeal_notify": ("notified_on", "delivery", "notify_note"),
}
#: The forms of the 送达 steps: their pages show the document to serve.
SERVING_FORMS = frozenset(
    {
        "accountability_notify.schema.json",
        "tolerance_notify.schema.json",
        "appeal_notify.schema.json",
    }
)
#: 送达方式 (the 送达 forms' `delivery` choices).
MANNERS = {"in_person": "直接送达", "unit": "经所在单位送达", "mail": "邮寄送达"}
