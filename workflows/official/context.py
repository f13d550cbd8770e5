"""What a document says: the values its template's placeholders are filled with, read from the
case's records (the decision with its reasons, the six-element analysis, the rectification
requirements, the clarification) and the step's data (the facts).

Every template may use only the names in KNOWN; an upload using any other is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cadres.models import Cadre
from workflows.cadres.service import ADJUSTMENT_NAMES, BAN_MONTHS
from workflows.cases import accountability, appeal, clarification, tolerance
from workflows.cases.models import (
    Appeal,
    CaseFile,
    Clarification,
    Decision,
    RectificationRequirement,
    SixElementAnalysis,
)
from workflows.engine import effects
from workflows.official import kinds
from workflows.org import service as org

#: Every name a template may use, with what it holds (shown on the templates page).
KNOWN: dict[str, str] = {
    "title": "文种，如“问责决定书”",
    "number": "文号，如“皖纪问〔2026〕12号”（送达回证为所送文书的文号）",
    "organ": "发文机关",
    "date_cn": "成文日期，如“二〇二六年三月十六日”",
    "case_number": "案件编号",
    "cadre_name": "干部姓名",
    "cadre_unit": "干部所在单位",
    "cadre_post": "干部职务",
    "facts": "问题事实",
    "decision": "决定（结论）",
    "reasons": "理由",
    "rule": "所依据的规定",
    "promotion_note": "影响期（组织调整时）",
    "appeal_right": "申诉权利与申诉期（可申诉时）",
    "elements": "六个要件分析：列表，每项有 name、finding、reason",
    "not_tolerated_reason": "不予容错的说明（不予容错时）",
    "rectification": "纠错整改要求（有整改要求时）",
    "deadline_cn": "整改期限，如“二〇二六年六月三十日”",
    "original_case_number": "原案件编号（申诉复核）",
    "original_number": "原决定文书的文号（申诉复核）",
    "appeal_grounds": "申诉理由（申诉复核）",
    "clarification_form": "澄清方式（澄清正名）",
    "clarification_scope": "澄清范围（澄清正名）",
    "served_title": "所送达文书的文种（送达回证）",
    "copy_to": "抄送机关",
}
_DIGITS = "〇一二三四五六七八九"


def date_cn(day: date) -> str:
    """A date as documents write it: 二〇二六年三月十六日 (GB/T 9704 成文日期)."""
    year = "".join(_DIGITS[int(d)] for d in str(day.year))
    return f"{year}年{_small(day.month)}月{_small(day.day)}日"


def _small(n: int) -> str:
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return f"{'' if tens == 1 else _DIGITS[tens]}十{_DIGITS[ones] if ones else ''}"


def blank() -> dict[str, Any]:
    """Every known name, empty: a template may use any of them in every kind."""
    return {key: [] if key == "elements" else "" for key in KNOWN}


def cadre_of(session: Session, case: CaseFile) -> dict[str, str]:
    """The cadre as documents name them: name, unit and post."""
    cadre = session.get(Cadre, case.cadre_id) if case.cadre_id is not None else None
    if cadre is None:
        return {"cadre_name": case.subject_name, "cadre_unit": "", "cadre_post": ""}
    units = org.unit_names(session, [cadre.org_unit_code])
    return {
        "cadre_name": cadre.name,
        "cadre_unit": units.get(cadre.org_unit_code, cadre.org_unit_code),
        "cadre_post": cadre.post,
    }


def _appeal_right(months: int, organ: str) -> str:
    return (
        f"如对本决定不服，可以自收到本决定之日起{months}个月内向{organ}提出申诉。"
        "申诉期间，不停止本决定的执行。"
    )


def _latest(session: Session, model: Any, case_id: int) -> Any:
    return session.execute(
        select(model)
        .where(model.case_id == case_id, effects.in_force(model))
        .order_by(model.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _decision(session: Session, case: CaseFile, kind: str) -> Decision | None:
    return session.execute(
        select(Decision)
        .where(Decision.case_id == case.id, Decision.kind == kind, effects.in_force(Decision))
        .order_by(Decision.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def of_case(
    session: Session,
    *,
    kind: kinds.Kind,
    case: CaseFile,
    data: Mapping[str, Any],
    organ: str,
    appeal_window_months: int,
) -> tuple[dict[str, Any], Decision | None] | None:
    """The context of `kind`'s document on `case` and the decision it carries, or None when the
    case holds no record to write it from (a step that took no decision, e.g. 退回重新认定)."""
    values = blank() | cadre_of(session, case)
    values |= {"title": kind.title, "case_number": case.number, "rule": kind.rule}
    values["facts"] = str(data.get("facts") or data.get("report") or "").strip() or case.title
    writer = _WRITERS[kind.key]
    decision = writer(session, case, data, values)
    if decision is False:
        return None
    if kind.served and values["decision"]:
        values["appeal_right"] = (
            _appeal_right(appeal_window_months, organ) if kind.key != kinds.APPEAL else ""
        )
    return values, decision if isinstance(decision, Decision) else None


def _accountability(
    session: Session, case: CaseFile, data: Mapping[str, Any], values: dict[str, Any]
) -> Decision | bool:
    decision = _decision(session, case, "accountability")
    if decision is None:
        return False
    outcome = accountability.OUTCOMES.get(decision.outcome, decision.outcome)
    if decision.adjustment:
        name = ADJUSTMENT_NAMES.get(decision.adjustment, decision.adjustment)
        values["decision"] = f"给予{values['cadre_name']}同志{outcome}（{name}）"
        months = BAN_MONTHS.get(decision.adjustment)
        if months:
            values["promotion_note"] = (
                f"根据实施意见第六条，自本决定作出之日起{months // 12}年内不得提拔重用。"
            )
    elif decision.outcome == "none":
        values["decision"] = f"对{values['cadre_name']}同志不予问责"
    else:
        values["decision"] = f"对{values['cadre_name']}同志{outcome}"
    values["reasons"] = decision.reason
    return decision


def _tolerance(
    session: Session, case: CaseFile, data: Mapping[str, Any], values: dict[str, Any]
) -> Decision | bool:
    decision = _decision(session, case, "tolerance")
    if decision is None:
        return False
    outcome = tolerance.OUTCOME_NAMES.get(decision.outcome, decision.outcome)
    values["decision"] = f"认定{values['cadre_name']}同志{outcome}"
    values["reasons"] = decision.reason
    if decision.outcome == "reject":
        values["not_tolerated_reason"] = decision.reason
    analysis = _latest(session, SixElementAnalysis, case.id)
    if analysis is not None:
        judged = json.loads(analysis.elements)
        values["elements"] = [
            {
                "name": name,
                "finding": good if judged.get(key, {}).get("pole") == "favourable" else bad,
                "reason": judged.get(key, {}).get("reason", ""),
            }
            for key, name, good, bad in tolerance.ELEMENTS
            if key in judged
        ]
    if decision.outcome in tolerance.GRANTED:
        values["rectification"] = str(data.get("rectification_requirements") or "").strip()
        deadline = data.get("rectification_deadline")
        values["deadline_cn"] = date_cn(date.fromisoformat(str(deadline))) if deadline else ""
    return decision


def _appeal(
    session: Session, case: CaseFile, data: Mapping[str, Any], values: dict[str, Any]
) -> Decision | bool:
    decision = _decision(session, case, "appeal")
    filed = session.execute(select(Appeal).where(Appeal.case_id == case.id)).scalar_one_or_none()
    if decision is None or filed is None:
        return False
    original = session.get(CaseFile, filed.original_case_id)
    values["original_case_number"] = original.number if original else ""
    values["appeal_grounds"] = filed.grounds
    values["facts"] = filed.grounds
    outcome = appeal.OUTCOMES.get(decision.outcome, decision.outcome)
    values["decision"] = f"{outcome}原决定"
    values["reasons"] = decision.reason
    return decision


def _rectification(
    session: Session, case: CaseFile, data: Mapping[str, Any], values: dict[str, Any]
) -> Decision | bool:
    requirement = _latest(session, RectificationRequirement, case.id)
    if requirement is None:
        return False
    values["rectification"] = requirement.requirements
    values["deadline_cn"] = date_cn(requirement.deadline)
    values["decision"] = f"责令{values['cadre_name']}同志于{values['deadline_cn']}前完成整改"
    values["reasons"] = str(data.get("reason") or data.get("basis_note") or "").strip()
    return True


def _clarification(
    session: Session, case: CaseFile, data: Mapping[str, Any], values: dict[str, Any]
) -> Decision | bool:
    done = _latest(session, Clarification, case.id)
    finding = _decision(session, case, "verification")
    if done is None:
        return False
    values["clarification_form"] = clarification.CLARIFY_FORMS.get(done.form, done.form)
    scope = clarification.CLARIFY_SCOPES.get(done.scope, done.scope)
    spread = str(data.get("spread_description") or "").strip()
    values["clarification_scope"] = f"{scope}（{spread}）" if spread else scope
    values["decision"] = f"经核实，反映{values['cadre_name']}同志的问题不实，予以澄清正名，消除顾虑"
    values["reasons"] = finding.reason if finding is not None else ""
    return True  # dated the day it is issued, not the day the report was found untrue


_WRITERS = {
    kinds.ACCOUNTABILITY: _accountability,
    kinds.TOLERANCE: _tolerance,
    kinds.APPEAL: _appeal,
    kinds.RECTIFICATION: _rectification,
    kinds.CLARIFICATION: _clarification,
}


def receipt(served: Mapping[str, Any]) -> dict[str, Any]:
    """The 送达回证 of a served document: its title and 文号, the cadre, the organ."""
    values = blank()
    for key in ("case_number", "cadre_name", "cadre_unit", "cadre_post", "organ", "date_cn"):
        values[key] = served.get(key, "")
    values |= {
        "title": kinds.KINDS[kinds.RECEIPT].title,
        "served_title": served.get("title", ""),
        "number": served.get("number", ""),
    }
    return values


def sample(kind: kinds.Kind) -> dict[str, Any]:
    """A made-up case, for previewing and checking a template."""
    values = blank() | {
        "title": kind.title,
        "number": "皖纪问〔2026〕12号",
        "organ": "中共安徽省纪律检查委员会",
        "date_cn": date_cn(date(2026, 3, 16)),
        "case_number": "WZ-2026-000012",
        "cadre_name": "张某某",
        "cadre_unit": "合肥市某区",
        "cadre_post": "副区长",
        "facts": "2025年在推进某项目过程中，未按规定履行集体决策程序，造成一定经济损失。",
        "decision": "给予张某某同志组织调整（调离岗位）",
        "reasons": "经调查，其对项目推进中的失误负有直接责任，情节较轻，已主动挽回部分损失。",
        "rule": kind.rule or kinds.KINDS[kinds.ACCOUNTABILITY].rule,
        "promotion_note": "根据实施意见第六条，自本决定作出之日起1年内不得提拔重用。",
        "appeal_right": _appeal_right(1, "中共安徽省纪律检查委员会"),
        "elements": [
            {"name": name, "finding": good, "reason": "（分析意见）"}
            for _key, name, good, _bad in tolerance.ELEMENTS
        ],
        "not_tolerated_reason": "（不予容错的说明）",
        "rectification": "完善项目集体决策制度，三个月内报送整改报告。",
        "deadline_cn": date_cn(date(2026, 6, 30)),
        "original_case_number": "WZ-2026-000003",
        "original_number": "皖纪问〔2026〕3号",
        "appeal_grounds": "（申诉理由）",
        "clarification_form": "书面通知",
        "clarification_scope": "所在单位",
        "served_title": kinds.KINDS[kinds.ACCOUNTABILITY].title,
        "copy_to": "中共安徽省委组织部",
    }
    return values
