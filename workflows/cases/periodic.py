"""Periodic work (DOMAIN.md §3): yearly talks, assessment outcomes, typical selection.

These processes have no case of their own; their actions check the rules and open an
accountability case where an assessment calls for an adjustment."""

from __future__ import annotations

from sqlalchemy import select

from workflows.cadres import service as cadres
from workflows.cadres.models import Cadre
from workflows.cases import service as cases
from workflows.cases.clarification import _text
from workflows.cases.service import refuse as _refuse
from workflows.engine import hooks
from workflows.engine.models import Instance
from workflows.errors import NotFound
from workflows.messages import t

ASSESSMENT_GRADES = {
    "excellent": "优秀",
    "competent": "称职",
    "basically_competent": "基本称职",
    "incompetent": "不称职",
}


def _instance_unit(context: hooks.ActionContext) -> str | None:
    return context.session.execute(
        select(Instance.org_unit).where(Instance.id == context.instance_id)
    ).scalar_one_or_none()


@hooks.on_complete("assessment_record")
def assessment_record(context: hooks.ActionContext) -> None:
    """Checks an assessment result: a cadre this unit manages, a consistent result."""
    data = context.data
    cadre = context.session.get(Cadre, int(data.get("assessed_cadre_id") or 0))
    if cadre is None:
        raise _refuse(t("§9 考核结果须对应在册干部"), "assessed_cadre_id")
    unit = _instance_unit(context)
    if unit is not None and cadre.org_unit_code != unit:
        raise _refuse(
            t(
                "§11 按干部管理权限，%(name)s 由 %(org_unit_code)s 管理，不由 %(unit)s 运用其考核结果",
                name=cadre.name,
                org_unit_code=cadre.org_unit_code,
                unit=unit,
            ),
            "assessed_cadre_id",
        )
    if data.get("grade") == "excellent" and (
        data.get("bottom_ranking") or data.get("unfit_for_post")
    ):
        raise _refuse(t("§9 考核等次为优秀的，不能同时排名靠后或不适宜担任现职"), "grade")
    data["subject_name"] = cadre.name
    data["bottom_ranking"] = bool(data.get("bottom_ranking", False))
    data["unfit_for_post"] = bool(data.get("unfit_for_post", False))


@hooks.on_complete("assessment_open_accountability")
def assessment_open_accountability(context: hooks.ActionContext) -> None:
    """§9 不称职或不适宜担任现职的及时调整: opens an accountability case from the assessment."""
    data = context.data
    facts = _text(data, "facts", "§9 调整须载明考核认定的事实")
    evidence = _text(data, "evidence", "§9 调整须载明考核依据")
    grade = ASSESSMENT_GRADES.get(str(data.get("grade")), str(data.get("grade")))
    opened = cases.open_case(
        context.session,
        kind="accountability",
        subject=cases.Subject(cadre_id=int(data["assessed_cadre_id"])),
        title=f"考核结果运用：{data.get('assessment_year')}年度考核{grade}",
        source="assessment",
        data={
            "source": "assessment",
            "facts": facts,
            "evidence": evidence,
            "assessment_year": data.get("assessment_year"),
            "grade": data.get("grade"),
        },
        actor=context.actor,
        clock=context.clock,
    )
    data["accountability_case_number"] = opened.number


@hooks.on_complete("talks_plan")
def talks_plan(context: hooks.ActionContext) -> None:
    """§16 one talk per pair of principal leaders a year: no pair twice in one plan."""
    seen: set[tuple[str, str]] = set()
    for index, pair in enumerate(context.data.get("pairs") or []):
        key = (str(pair.get("upper", "")).strip(), str(pair.get("lower", "")).strip())
        if key in seen:
            raise _refuse(
                t(
                    "§16 上级领导班子主要负责同志每年与下级主要负责同志谈心谈话一次："
                    "%(superior)s 与 %(subordinate)s 重复",
                    superior=key[0],
                    subordinate=key[1],
                ),
                f"pairs/{index}",
            )
        seen.add(key)


@hooks.on_complete("typical_approve")
def typical_approve(context: hooks.ActionContext) -> None:
    """§15 事迹突出的及时提拔使用 — only cadres not under a promotion ban (§6)."""
    if not context.data.get("approved"):
        return
    today = context.clock.today()
    for index, nominee in enumerate(context.data.get("nominees") or []):
        if not nominee.get("recommend_promotion") or nominee.get("cadre_id") is None:
            continue
        try:
            answer = cadres.eligibility(
                context.session, cadre_id=int(nominee["cadre_id"]), on=today
            )
        except NotFound:
            raise _refuse(
                t("§15 建议提拔使用的须为在册干部"), f"nominees/{index}/cadre_id"
            ) from None
        if not answer.eligible:
            raise _refuse(
                t(
                    "§6 %(name)s 在影响期内不得提拔：至 %(until)s（案件 %(case_number)s）",
                    name=nominee.get("name", ""),
                    until=answer.until,
                    case_number=answer.case_number,
                ),
                f"nominees/{index}/recommend_promotion",
            )
