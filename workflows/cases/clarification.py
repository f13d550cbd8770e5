"""False-accusation clarification 澄清正名 (§12, DOMAIN.md §2.5) and the actions of the
periodic processes (DOMAIN.md §3), which open no case of their own.

Clarification: discipline verifies that the report is untrue; organization clarifies,
choosing the form and the scope; a fabricated accusation with bad impact opens an
accountability case against the accuser and puts them on the dishonesty blacklist.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from workflows.cases import blacklist
from workflows.cases import service as cases
from workflows.cases.models import CaseLink, Clarification, Decision
from workflows.cases.service import refuse as _refuse
from workflows.engine import hooks
from workflows.messages import t

TRIGGERS = {
    "found_in_case": "案件办理中发现不实反映",
    "cadre_request": "干部本人申请",
    "unit_request": "所在单位申请",
}
FINDINGS = {"untrue": "反映不实", "true": "反映属实", "partly_true": "反映部分属实"}
CLARIFY_FORMS = {
    "talk": "谈话",
    "written_notice": "书面通知",
    "meeting": "会议说明",
    "announcement": "通报澄清",
}
CLARIFY_SCOPES = {"party_org": "党组织内部", "unit": "所在单位", "spread": "反映问题的范围"}
#: Case outcomes by verification finding.
OUTCOMES = {"untrue": "clarified", "true": "report_true", "partly_true": "report_partly_true"}


def _text(data: dict[str, Any], field: str, rule: str) -> str:
    value = str(data.get(field) or "").strip()
    if not value:
        raise _refuse(rule, field)
    return value


def _not_before(
    context: hooks.ActionContext, field: str, rule: str, *, not_before: date, before_name: str
) -> date:
    """The date in `field`, refused when earlier than the step it follows (not after today:
    the form's `x-past` rule)."""
    day = cases.parse_date(context.data.get(field), field)
    if day < not_before:
        raise _refuse(
            t(
                "%(rule)s：%(day)s 早于%(before_name)s %(not_before)s",
                rule=rule,
                day=day,
                before_name=before_name,
                not_before=not_before,
            ),
            field,
        )
    return day


@hooks.automatic("clarification_register")
def register(context: hooks.ActionContext) -> None:
    """Checks how the clarification was started and links the case the report came up in."""
    data = context.data
    _text(data, "report", "§12 澄清正名须载明所反映的问题")
    trigger = data.get("trigger")
    if trigger not in TRIGGERS:
        raise _refuse(
            t("§12 澄清正名的启动方式须为：%(choices)s", choices="、".join(TRIGGERS.values())),
            "trigger",
        )
    related = data.get("related_case_id")
    if trigger == "found_in_case" and related is None:
        raise _refuse(t("§12 案件办理中发现的不实反映须注明所涉案件"), "related_case_id")
    if related is None:
        return
    case = cases.of_context(context)
    other = cases.get(context.session, int(related))
    exists = context.session.execute(
        select(CaseLink.id).where(CaseLink.from_case_id == other.id, CaseLink.to_case_id == case.id)
    ).first()
    if exists is None:
        cases.link(
            context.session,
            from_case_id=other.id,
            to_case_id=case.id,
            kind="clarification",
            clock=context.clock,
        )


@hooks.on_complete("clarification_verify")
def verify(context: hooks.ActionContext) -> None:
    """Records the verification finding with its reasons; a true report closes the case."""
    data = context.data
    case = cases.of_context(context)
    finding = data["finding"]  # a known one, fabrication only when untrue: the form's rules
    reason = _text(data, "reason", "§12 核实结论须说明理由")
    verified_on = cases.parse_date(data["verified_on"], "verified_on")
    fabricated = bool(data.get("fabricated", False))
    context.session.add(
        Decision(
            case_id=case.id,
            kind="verification",
            outcome=finding,
            reason=reason,
            decided_on=verified_on,
            decided_by=context.actor,
            recorded_at=context.clock.now(),
        )
    )
    case.outcome = "report_untrue" if finding == "untrue" else OUTCOMES[finding]
    context.session.flush()
    data["fabricated"] = fabricated  # the gateway reads it even when the form left it out


@hooks.on_complete("clarification_clarify")
def clarify(context: hooks.ActionContext) -> None:
    """Records how and where the cadre was cleared (澄清正名、消除顾虑)."""
    data = context.data
    case = cases.of_context(context)
    form, scope = data["form"], data["scope"]  # known ones, the range when spread: the form's
    verified_on = cases.parse_date(data.get("verified_on"), "verified_on")
    done_on = _not_before(
        context, "done_on", "澄清日期", not_before=verified_on, before_name="核实日期"
    )
    context.session.add(
        Clarification(
            case_id=case.id, form=form, scope=scope, done_on=done_on, recorded_by=context.actor
        )
    )
    context.session.flush()


@hooks.on_complete("clarification_pursue_accuser")
def pursue_accuser(context: hooks.ActionContext) -> None:
    """诬告陷害查处: opens accountability of the accuser and lists them on the blacklist."""
    data = context.data
    case = cases.of_context(context)
    accuser = _text(data, "accuser_name", "§12 追究诬告陷害责任须载明告发人姓名")
    facts = _text(data, "facts", "§12 追究诬告陷害责任须载明捏造事实、虚假告发的事实")
    evidence = _text(data, "evidence", "§12 追究诬告陷害责任须载明证据")
    reason = _text(data, "blacklist_reason", "§12 失信黑名单须载明理由")
    accountability = cases.open_case(
        context.session,
        kind="accountability",
        subject=cases.Subject(name=accuser, org_unit_code=case.org_unit_code),
        title=f"诬告陷害问责：{accuser}（{case.number}）",
        source="false_accusation",
        data={
            "source": "false_accusation",
            "facts": facts,
            "evidence": evidence,
            "clarification_case_number": case.number,
        },
        actor=context.actor,
        clock=context.clock,
        links=[(case.id, "accuser_accountability")],
    )
    entry = blacklist.add_entry(
        context.session,
        person_name=accuser,
        basis_case_id=case.id,
        reviewer=context.actor,
        reason=reason,
        entered_on=context.clock.today(),
        clock=context.clock,
    )
    data["accuser_case_number"] = accountability.number
    data["blacklist_entry_id"] = entry.id


@hooks.automatic("clarification_close")
def close(context: hooks.ActionContext) -> None:
    """Closes the case with the outcome its verification led to."""
    case = cases.of_context(context)
    case.status = "closed"
    case.outcome = OUTCOMES.get(str(context.data.get("finding")), case.outcome)
    case.closed_at = context.clock.now()
    context.session.flush()
