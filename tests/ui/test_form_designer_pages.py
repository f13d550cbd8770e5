"""The form designer's pages over HTTP: who may open it, the preview and its 试填校验
(refusing a missing required field beside it, naming a broken form's JSON path), and the
task page offering the case's documents for a 文件引用 field."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.api.test_documents import PDF
from tests.support.world import FORMS, World
from workflows import access
from workflows.definitions import form_drafts
from workflows.documents import service as documents
from workflows.runtime import Runtime

STEM = "accountability_register"
SCHEMA = json.loads((FORMS / f"{STEM}.schema.json").read_text(encoding="utf-8"))
UISCHEMA = json.loads((FORMS / f"{STEM}.uischema.json").read_text(encoding="utf-8"))
REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
PREVIEW = f"/forms/{STEM}/design/preview"


def _with_date() -> dict[str, Any]:
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["decided_on"] = {"type": "string", "format": "date", "title": "决定日期"}
    schema["required"] = ["decided_on"]
    return schema


def test_designers_edit_administrators_look_others_are_refused(logged_in: Any) -> None:
    designer, _csrf = logged_in("designer.hf")
    listed = designer.get("/forms").get_data(as_text=True)
    assert f'href="/forms/{STEM}/design"' in listed
    page = designer.get(f"/forms/{STEM}/design").get_data(as_text=True)
    assert 'id="fd-save"' in page and 'id="fd-state"' in page
    admin, _csrf = logged_in("admin.hf")
    looked = admin.get(f"/forms/{STEM}/design").get_data(as_text=True)
    assert "只有流程设计人员可以修改和部署表单" in looked and 'id="fd-save"' not in looked
    clerk, _csrf = logged_in("discipline.hf")
    assert clerk.get(f"/forms/{STEM}/design").status_code == 403
    assert designer.get("/forms/no_such_form/design").status_code == 404


def test_the_trial_check_refuses_a_missing_required_date_beside_it(logged_in: Any) -> None:
    client, csrf = logged_in("designer.hf")
    body = {"schema": _with_date(), "uischema": UISCHEMA, "values": {"facts": "事实"}}
    assert client.post(PREVIEW, json=body).status_code == 403  # no CSRF token
    headers = {"X-CSRF-Token": csrf}
    shown = client.post(PREVIEW, json=body, headers=headers)
    assert shown.status_code == 200 and 'name="decided_on"' in shown.get_data(as_text=True)
    checked = client.post(PREVIEW, json={**body, "check": True}, headers=headers)
    html = checked.get_data(as_text=True)
    assert checked.status_code == 422
    assert '<p class="field-error" id="f-decided_on-error">请填写此项</p>' in html
    assert "试填未通过" in html
    body["values"]["decided_on"] = "2026-03-02"
    passed = client.post(PREVIEW, json={**body, "check": True}, headers=headers)
    assert passed.status_code == 200 and "试填通过" in passed.get_data(as_text=True)
    broken = client.post(
        PREVIEW, json={"schema": {"type": "object", "required": ["x"]}}, headers=headers
    )
    assert broken.status_code == 422
    assert "<code>schema.required.0</code>：表单没有字段 x" in broken.get_data(as_text=True)


def test_a_document_field_offers_the_cases_documents(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    schema, ui = copy.deepcopy(SCHEMA), copy.deepcopy(UISCHEMA)
    schema["properties"]["audit_report"] = {"type": "integer", "title": "审计报告"}
    ui["audit_report"] = {"ui:widget": "document"}
    with rt.transaction() as session:
        designer = access.principal_for(session, username="designer.hf")
        form_drafts.save(
            session,
            principal=designer,
            stem=STEM,
            schema=schema,
            uischema=ui,
            base_revision=0,
            clock=rt.clock,
        )
        form_drafts.deploy_form(
            session,
            principal=designer,
            stem=STEM,
            forms_dir=FORMS,
            max_bytes=2_000_000,
            clock=rt.clock,
            note="引用审计报告",
            confirm=True,
        )
    case = world.open("accountability", data=REGISTER)
    with rt.transaction() as session:
        found = documents.add(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            case_id=case.id,
            filename="审计报告.pdf",
            content=PDF,
            title="审计报告〔2026〕3号",
            clock=rt.clock,
        )
    client, _csrf = logged_in("discipline.hf")
    page = client.get(f"/tasks/{world.task(case, 'register').id}").get_data(as_text=True)
    assert f'<option value="{found.id}">审计报告〔2026〕3号</option>' in page


def test_a_designer_starts_a_new_form_and_the_diagram_editor_offers_its_draft(
    logged_in: Any, rt: Runtime
) -> None:
    client, _csrf = logged_in("designer.hf")
    bad = client.get("/forms/new?stem=Hearing-1")
    assert bad.status_code == 422
    assert "表单名应以小写英文字母开头" in bad.get_data(as_text=True)
    taken = client.get(f"/forms/new?stem={STEM}")
    assert taken.status_code == 422 and "已有表单" in taken.get_data(as_text=True)
    made = client.get("/forms/new?stem=appeal_hearing")
    assert made.status_code == 302
    assert made.headers["Location"].endswith("/forms/appeal_hearing/design?new=1")
    assert client.get("/forms/appeal_hearing/design?new=1").status_code == 200
    assert client.get("/forms/appeal_hearing/design").status_code == 404  # nothing saved yet
    clerk, _csrf = logged_in("discipline.hf")
    assert clerk.get("/forms/new?stem=appeal_hearing").status_code == 403
    with rt.transaction() as session:
        form_drafts.save(
            session,
            principal=access.principal_for(session, username="designer.hf"),
            stem="appeal_hearing",
            schema={"type": "object", "title": "听证", "properties": {}},
            uischema={},
            base_revision=0,
            clock=rt.clock,
        )
    listed = client.get("/forms").get_data(as_text=True)
    assert 'id="design-appeal_hearing"' in listed and "（未部署）" in listed
    editor = client.get("/processes/appeal/edit").get_data(as_text=True)
    assert "appeal_hearing.schema.json" in editor and "appeal_hearing.uischema.json" in editor
