"""登记案件 (/cases/new) over the test client: a clerk opens an accountability case and lands on
it with its first task queued; each kind's fields; bad input refused beside the fields with the
values kept and nothing stored; CSRF; roles that may open nothing; a cadre applying about themself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.ui import case_new
from tests.support.world import World
from workflows.cadres.models import Cadre
from workflows.cases import intake
from workflows.cases.models import CaseFile, CaseLink
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _open(client: FlaskClient, csrf: str, kind: str, **form: str) -> Any:
    return client.post("/cases/new", data={"csrf_token": csrf, "kind": kind, "shown": kind, **form})


def _error_of(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="n-{re.escape(field)}-error">([^<]*)</p>', html)
    return found.group(1) if found else ""


def _cases(rt: Runtime) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(CaseFile)).scalar_one())


def _only_case(rt: Runtime) -> CaseFile:
    with rt.db.reading() as session:
        return session.execute(select(CaseFile)).scalar_one()


def test_the_form_offers_every_start_field_of_each_kind() -> None:
    for kind, fields in intake.START_FIELDS.items():
        shown = {intake.ORIGIN_KEYS[kind], *(i.key for i in case_new.INPUTS[kind])}
        assert shown == set(fields), kind


def test_clerk_opens_an_accountability_case_and_lands_on_it_with_its_first_task(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    client, csrf = logged_in("discipline.hf")
    assert 'href="/cases/new">登记案件</a>' in client.get("/cases").get_data(as_text=True)
    page = client.get("/cases/new").get_data(as_text=True)
    assert "<h1>登记案件</h1>" in page
    assert (
        'type="radio" name="kind" value="accountability" aria-labelledby="n-kind-accountability-name" '
        'aria-describedby="n-kind-accountability-hint" checked'
    ) in page
    assert '<input type="date" id="n-registered_on" name="registered_on" value="2026-03-02"' in page
    assert (
        f'<option value="{world.cadres["zhang"]}">张三（合肥市某局局长，合肥市）</option>' in page
    )
    assert "李四" not in page  # 肥东县's cadre is not discipline.hf's

    opened = _open(
        client,
        csrf,
        "accountability",
        cadre_id=str(world.cadres["zhang"]),
        **FINDING,
        registered_on="2026-02-27",
    )
    assert opened.status_code == 303
    case = _only_case(rt)
    assert opened.headers["Location"] == f"/cases/{case.id}"
    assert (case.number, case.kind, case.cadre_id, case.source) == (
        "WZ-2026-000001",
        "accountability",
        world.cadres["zhang"],
        "audit",
    )
    assert case.title == "张三问责" and case.opened_by == "discipline.hf"
    html = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "已立案：WZ-2026-000001" in html and "立案" in html
    register = world.task(case, "register")
    assert (register.role, register.org_unit) == ("discipline", "ah-hf")
    assert f'href="/tasks/{register.id}"' in html
    assert f'href="/tasks/{register.id}"' in client.get("/tasks?queue=role").get_data(as_text=True)
    form = client.get(f"/tasks/{register.id}").get_data(as_text=True)
    assert "审计发现违规拨付专项资金" in form and 'value="2026-02-27"' in form


@pytest.mark.parametrize(
    ("kind", "origins", "fields"),
    [
        (
            "accountability",
            [
                "inspection_tour",
                "environmental_inspection",
                "audit",
                "assessment",
                "petition",
                "failed_rectification",
                "false_accusation",
            ],
            [
                '<label for="n-source">问题线索来源',
                '<label for="n-facts">问题事实',
                '<textarea id="n-facts"',
                '<label for="n-evidence">证据材料',
                '<label for="n-registered_on">立案日期',
                'type="date" id="n-registered_on"',
            ],
        ),
        (
            "rectification",
            ["accountability", "first_form"],
            [
                '<label for="n-basis">整改依据',
                '<label for="n-requirements">纠错整改要求',
                '<textarea id="n-requirements"',
                '<label for="n-deadline">整改期限',
                '<input type="date" id="n-deadline" name="deadline" value=""',
                '<label for="n-issued_by">决定机关',
            ],
        ),
        (
            "clarification",
            ["found_in_case", "cadre_request", "unit_request"],
            [
                '<label for="n-trigger">启动方式',
                '<label for="n-report">所反映的问题',
                '<textarea id="n-report"',
                '<label for="n-related_case_id">所涉案件编号',
                '<label for="n-subject_name">当事人姓名',
                '<label for="n-org_unit">管辖单位',
                '<option value="ah-hf">合肥市</option>',
            ],
        ),
        (
            "tolerance_review",
            ["unit", "cadre"],
            [
                '<label for="n-applicant">申请人',
                '<label for="n-reasons">申请理由',
                '<textarea id="n-reasons"',
                '<label for="n-facts">失误错误的事实',
            ],
        ),
    ],
)
def test_each_kind_shows_its_own_fields(
    logged_in: Any, world: World, kind: str, origins: list[str], fields: list[str]
) -> None:
    client, _ = logged_in("discipline.hf")
    html = client.get(f"/cases/new?kind={kind}&cadre_id={world.cadres['zhang']}").get_data(
        as_text=True
    )
    assert f'aria-describedby="n-kind-{kind}-hint" checked' in html
    assert f'<input type="hidden" name="shown" value="{kind}">' in html
    for field in fields:
        assert field in html, field
    select_ = html.split(f'name="{intake.ORIGIN_KEYS[kind]}"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="([^"]+)"', select_) == origins
    assert (
        f'<option value="{world.cadres["zhang"]}" selected>' in html
    )  # the cadre is kept across kinds
    others = {
        key for k, inputs in case_new.INPUTS.items() if k != kind for key in (i.key for i in inputs)
    }
    for key in others - {i.key for i in case_new.INPUTS[kind]}:
        assert f'id="n-{key}"' not in html, key


def test_bad_input_is_refused_beside_the_fields_with_values_kept_and_nothing_stored(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    client, csrf = logged_in("discipline.hf")
    response = _open(
        client,
        csrf,
        "accountability",
        cadre_id=str(world.cadres["zhang"]),
        source="audit",
        facts="",
        evidence="审计报告〔2026〕3号",
        registered_on="2026-02-30",
        title="违规拨付",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _error_of(html, "facts") == "请填写此项"
    assert _error_of(html, "registered_on") == "请填写有效的日期（年-月-日）"
    assert (
        'id="n-facts" name="facts" rows="4" maxlength="20000" aria-required="true" aria-invalid="true" '
        'aria-describedby="n-facts-error" autofocus>' in html
    )
    assert (
        'value="2026-02-30" aria-invalid="true" aria-describedby="n-registered_on-error n-registered_on-help"'
        in html
    )
    assert ">审计报告〔2026〕3号</textarea>" in html and 'value="违规拨付"' in html
    assert '<option value="audit" selected>' in html
    assert f'<option value="{world.cadres["zhang"]}" selected>' in html
    assert "未能提交：请按提示修改（共 2 处）" in html
    assert _cases(rt) == 0

    later = _open(
        client,
        csrf,
        "accountability",
        cadre_id=str(world.cadres["zhang"]),
        **FINDING,
        registered_on="2026-03-09",
    )  # a rule of the process, beside its field
    assert later.status_code == 422
    assert (
        _error_of(later.get_data(as_text=True), "registered_on")
        == "立案日期不得晚于今天（2026-03-02）：所填为 2026-03-09"
    )

    nobody = _open(client, csrf, "accountability", **FINDING)
    assert (
        nobody.status_code == 422
        and _error_of(nobody.get_data(as_text=True), "cadre_id") == "请选择当事干部"
    )
    forged = _open(client, csrf, "accountability", cadre_id="9" * 5000, **FINDING, title="长" * 401)
    html = forged.get_data(as_text=True)
    assert forged.status_code == 422 and _error_of(html, "cadre_id") == "请从所列干部中选择"
    assert _error_of(html, "title") == "最多填写 400 个字"
    assert _cases(rt) == 0


def test_an_origin_the_role_may_not_use_is_refused_beside_it(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    client, csrf = logged_in("discipline.hf")
    response = _open(
        client,
        csrf,
        "rectification",
        cadre_id=str(world.cadres["zhang"]),
        basis="tolerance",
        requirements="限期完善专项资金拨付审批制度",
        deadline="2026-04-30",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _error_of(html, "basis") == "只能选择：问责决定、第一种形态（咬耳扯袖、红脸出汗）"
    assert ">限期完善专项资金拨付审批制度</textarea>" in html and 'value="2026-04-30"' in html
    assert _cases(rt) == 0
    opened = _open(
        client,
        csrf,
        "rectification",
        cadre_id=str(world.cadres["zhang"]),
        basis="first_form",
        requirements="限期完善专项资金拨付审批制度",
        deadline="2026-04-30",
    )
    assert opened.status_code == 303
    issue = world.task(_only_case(rt), "issue_discipline")
    assert "限期完善专项资金拨付审批制度" in client.get(f"/tasks/{issue.id}").get_data(as_text=True)


def test_an_unknown_related_case_is_named_beside_its_field(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    other = world.open(
        "accountability", data=FINDING, user="discipline.wh", cadre="li"
    )  # 肥东县: out of sight
    client, csrf = logged_in("discipline.hf")
    response = _open(
        client,
        csrf,
        "clarification",
        cadre_id=str(world.cadres["zhang"]),
        trigger="found_in_case",
        report="反映张三违规收受礼金",
        related_case_id=other.number,
    )
    assert response.status_code == 422
    assert (
        _error_of(response.get_data(as_text=True), "related_case_id")
        == f"没有编号为 {other.number} 的案件"
    )
    assert _cases(rt) == 1


def test_a_clarification_names_the_case_it_came_up_in_or_a_person_off_the_register(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    found_in = world.open("accountability", data=FINDING)
    client, csrf = logged_in("discipline.hf")
    opened = _open(
        client,
        csrf,
        "clarification",
        cadre_id=str(world.cadres["zhang"]),
        trigger="found_in_case",
        report="反映张三违规收受礼金",
        related_case_id=found_in.number.lower(),
    )
    assert opened.status_code == 303
    with rt.db.reading() as session:
        case = session.execute(
            select(CaseFile).where(CaseFile.kind == "clarification")
        ).scalar_one()
        assert session.execute(
            select(CaseLink).where(
                CaseLink.from_case_id == found_in.id, CaseLink.to_case_id == case.id
            )
        ).scalar_one()
    assert world.task(case, "verify").role == "discipline"

    both = _open(
        client,
        csrf,
        "clarification",
        cadre_id=str(world.cadres["zhang"]),
        subject_name="钱某",
        org_unit="ah-hf",
        trigger="unit_request",
        report="反映不实",
    )
    assert both.status_code == 422
    assert (
        _error_of(both.get_data(as_text=True), "subject_name")
        == "当事干部（cadre_id）与当事人姓名（subject_name）只填一项"
    )
    named = _open(
        client,
        csrf,
        "clarification",
        subject_name="钱某",
        org_unit="ah-hf",
        trigger="unit_request",
        report="反映钱某违规经商",
    )
    assert named.status_code == 303
    assert "钱某澄清正名" in client.get(named.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("username", ["discipline.wh", "discipline.hf"])
def test_a_cadre_out_of_jurisdiction_is_not_found(
    logged_in: Any, world: World, rt: Runtime, username: str
) -> None:
    client, csrf = logged_in(username)
    cadre = world.cadres["zhang" if username == "discipline.wh" else "li"]
    response = _open(client, csrf, "accountability", cadre_id=str(cadre), **FINDING)
    assert response.status_code == 404
    assert _cases(rt) == 0


def test_opening_needs_the_csrf_token(logged_in: Any, world: World, rt: Runtime) -> None:
    client, _ = logged_in("discipline.hf")
    form = {
        "kind": "accountability",
        "shown": "accountability",
        "cadre_id": str(world.cadres["zhang"]),
        **FINDING,
    }
    for sent in ({}, {"csrf_token": "forged"}):
        response = client.post("/cases/new", data={**form, **sent})
        assert response.status_code == 403 and "CSRF" in response.get_data(as_text=True)
    assert _cases(rt) == 0


@pytest.mark.parametrize(
    "username", ["committee.hf", "supervisor.hf", "designer.hf", "admin.hf", "functional.hf"]
)
def test_roles_that_may_open_nothing_are_refused_and_see_no_button(
    logged_in: Any, world: World, rt: Runtime, username: str
) -> None:
    client, csrf = logged_in(username)
    listed = client.get("/cases")
    assert listed.status_code != 200 or "/cases/new" not in listed.get_data(as_text=True)
    page = client.get("/cases/new")
    assert page.status_code == 403 and "不能登记案件" in page.get_data(as_text=True)
    assert (
        _open(
            client, csrf, "accountability", cadre_id=str(world.cadres["zhang"]), **FINDING
        ).status_code
        == 403
    )
    assert _cases(rt) == 0


def test_a_clerk_may_not_open_a_kind_outside_the_table(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    client, csrf = logged_in("unit.hf")
    html = client.get("/cases/new?kind=accountability").get_data(as_text=True)
    assert "<h1>提出申请</h1>" in html
    assert re.findall(r'name="kind" value="(\w+)"', html) == ["clarification", "tolerance_review"]
    assert (
        _open(
            client, csrf, "accountability", cadre_id=str(world.cadres["zhang"]), **FINDING
        ).status_code
        == 403
    )
    assert _cases(rt) == 0


def test_a_unit_applies_for_exemption_as_the_unit(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    client, csrf = logged_in("unit.hf")
    html = client.get("/cases/new?kind=tolerance_review").get_data(as_text=True)
    assert '<input type="hidden" name="applicant" value="unit">' in html and "所在单位" in html
    opened = _open(
        client,
        csrf,
        "tolerance_review",
        cadre_id=str(world.cadres["zhang"]),
        applicant="unit",
        reasons="为推进项目建设先行先试",
        facts="未经集体研究提前拨付资金",
    )
    assert opened.status_code == 303
    assert "已提交申请：RC-2026-000001" in client.get(opened.headers["Location"]).get_data(
        as_text=True
    )
    assert _only_case(rt).source == "application:unit"


def test_a_cadre_applies_about_themself_only(logged_in: Any, world: World, rt: Runtime) -> None:
    client, csrf = logged_in("zhang")
    assert 'href="/cases/new">提出申请</a>' in client.get("/mine").get_data(as_text=True)
    html = client.get("/cases/new").get_data(as_text=True)
    assert re.findall(r'name="kind" value="(\w+)"', html) == ["clarification", "tolerance_review"]
    assert "张三 · 合肥市某局局长" in html and 'name="cadre_id"' not in html
    assert 'id="n-subject_name"' not in html  # a cadre speaks for themself
    assert '<input type="hidden" name="trigger" value="cadre_request">' in html

    elsewhere = _open(
        client,
        csrf,
        "tolerance_review",
        cadre_id=str(world.cadres["li"]),
        reasons="为推进项目建设先行先试",
        facts="未经集体研究提前拨付资金",
    )
    assert elsewhere.status_code == 404 and _cases(rt) == 0
    as_unit = _open(
        client, csrf, "tolerance_review", applicant="unit", reasons="理由", facts="事实"
    )
    assert (
        as_unit.status_code == 422
        and _error_of(as_unit.get_data(as_text=True), "applicant") == "只能选择：干部本人"
    )

    applied = _open(
        client,
        csrf,
        "tolerance_review",
        applicant="cadre",
        reasons="为推进项目建设先行先试",
        facts="未经集体研究提前拨付资金",
    )
    assert applied.status_code == 303
    review = _only_case(rt)
    assert (review.kind, review.cadre_id, review.source) == (
        "tolerance_review",
        world.cadres["zhang"],
        "application:cadre",
    )
    assert "已提交申请：RC-2026-000001" in client.get(applied.headers["Location"]).get_data(
        as_text=True
    )
    assert world.task(review, "accept").role == "discipline"

    asked = _open(client, csrf, "clarification", report="有人反映我违规收受礼金，经查不实")
    assert asked.status_code == 303
    with rt.db.reading() as session:
        clarification = session.execute(
            select(CaseFile).where(CaseFile.kind == "clarification")
        ).scalar_one()
    assert (clarification.cadre_id, clarification.source) == (
        world.cadres["zhang"],
        "cadre_request",
    )


def test_a_changed_kind_without_its_fields_shows_them_and_stores_nothing(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    client, csrf = logged_in("discipline.hf")
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf,
            "kind": "rectification",
            "shown": "accountability",
            "cadre_id": str(world.cadres["zhang"]),
            **FINDING,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "已改为纠错整改：请填写本类案件的事项后再提交" in html
    assert (
        'id="n-requirements"' in html
        and f'<option value="{world.cadres["zhang"]}" selected>' in html
    )
    assert _cases(rt) == 0


def _many_cadres(rt: Runtime, count: int, *, unit: str = "ah-hf", prefix: str = "王") -> None:
    with rt.db.transaction() as session:
        for i in range(count):
            session.add(
                Cadre(
                    name=f"{prefix}{i:03d}",
                    post=f"合肥市第{i}科科长",
                    org_unit_code=unit,
                    created_at=rt.clock.now(),
                )
            )


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="(\d*)"', html)


def test_a_large_jurisdiction_lists_a_page_of_cadres_and_the_search_finds_the_rest(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    _many_cadres(rt, case_new.CADRE_CHOICES + 20)
    _many_cadres(rt, 3, unit="ah-wh", prefix="王芜")  # 芜湖市: not discipline.hf's
    client, csrf = logged_in("discipline.hf")
    page = client.get("/cases/new").get_data(as_text=True)
    assert len([v for v in _options(page) if v]) == case_new.CADRE_CHOICES
    assert "……另有 21 名未列出：请在上面输入姓名或职务查找" in page  # 120 王 + 张三 = 121
    assert 'id="n-cadre_q" name="cadre_q"' in page and 'hx-get="/cases/new/cadres"' in page

    found = client.get("/cases/new/cadres", query_string={"cadre_q": "王119"})
    assert found.status_code == 200
    assert re.findall(r'<option value="\d+">([^<]+)</option>', found.get_data(as_text=True)) == [
        "王119（合肥市第119科科长，合肥市）"
    ]
    by_post = client.get("/cases/new/cadres", query_string={"cadre_q": "局长"}).get_data(
        as_text=True
    )
    assert (
        f'<option value="{world.cadres["zhang"]}">张三（合肥市某局局长，合肥市）</option>'
        in by_post
    )
    assert "另有" not in by_post
    # Out of jurisdiction stays out, whatever is searched or sent as selected.
    elsewhere = client.get(
        "/cases/new/cadres", query_string={"cadre_q": "王芜", "cadre_id": world.cadres["li"]}
    )
    assert [v for v in _options(elsewhere.get_data(as_text=True)) if v] == []
    assert "管辖范围内没有姓名或职务含“王芜”的干部" in elsewhere.get_data(as_text=True)

    # The chosen cadre stays listed (and selected) when the search no longer matches them.
    kept = client.get(
        "/cases/new/cadres", query_string={"cadre_q": "王119", "cadre_id": world.cadres["zhang"]}
    )
    html = kept.get_data(as_text=True)
    assert f'<option value="{world.cadres["zhang"]}" selected>' in html and "王119" in html
    # The search survives a re-rendered form, and the case opens on the cadre found.
    wrong = _open(
        client,
        csrf,
        "accountability",
        cadre_q="王119",
        cadre_id="",
        **FINDING,
        registered_on="2026-02-27",
    )
    assert wrong.status_code == 422 and 'name="cadre_q" value="王119"' in wrong.get_data(
        as_text=True
    )
    cadre_id = _options(found.get_data(as_text=True))[1]
    opened = _open(
        client,
        csrf,
        "accountability",
        cadre_q="王119",
        cadre_id=cadre_id,
        **FINDING,
        registered_on="2026-02-27",
    )
    assert opened.status_code == 303 and str(_only_case(rt).cadre_id) == cadre_id


def test_the_cadre_search_is_not_for_a_cadre_nor_for_whom_may_open_nothing(
    logged_in: Any, world: World
) -> None:
    cadre, _csrf = logged_in("zhang")
    assert cadre.get("/cases/new/cadres", query_string={"cadre_q": "张"}).status_code == 404
    supervisor, _csrf = logged_in("supervisor.hf")
    assert supervisor.get("/cases/new/cadres", query_string={"cadre_q": "张"}).status_code == 403
    anonymous = supervisor.application.test_client()
    assert anonymous.get("/cases/new/cadres").status_code in (302, 303, 401)
