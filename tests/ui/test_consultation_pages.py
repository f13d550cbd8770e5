"""加签 and 抄送 pages over Flask's test client: the task page's forms (colleagues by name),
refusals beside their fields, 撤回, the answer page, 征求意见 in the inbox, 抄送我的 and the
case's timeline."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
SECOND = "第二审查员（合肥市·纪检监察机关）"


def _register(world: World) -> tuple[int, int]:
    case = world.open("accountability", data=REGISTER)
    return case.id, world.task(case, "register").id


def test_the_task_page_offers_colleagues_by_name_and_refuses_beside_the_field(
    world: World, logged_in: Any
) -> None:
    _case_id, task_id = _register(world)
    client, csrf = logged_in("discipline.hf")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'id="consult-users" name="users" multiple' in page
    assert f'<option value="discipline2.hf">{SECOND}</option>' in page
    assert 'value="discipline.wh"' not in page and 'value="discipline.hf"' not in page
    refused = client.post(
        f"/tasks/{task_id}/consult",
        data={"csrf_token": csrf, "users": ["discipline2.hf"], "question": ""},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="consult-question-error"' in html and "征求意见的问题应为 1–2000 个字" in html
    assert '<option value="discipline2.hf" selected>' in html  # the choice is kept
    no_one = client.post(f"/tasks/{task_id}/copy", data={"csrf_token": csrf, "note": "知悉"})
    assert no_one.status_code == 422
    assert 'id="copy-users-error"' in no_one.get_data(as_text=True)
    assert client.post(
        f"/tasks/{task_id}/consult", data={"users": ["discipline2.hf"], "question": "意见？"}
    ).status_code in (400, 403)  # no CSRF token


def test_ask_answer_withdraw_and_complete_through_the_pages(world: World, logged_in: Any) -> None:
    case_id, task_id = _register(world)
    holder, csrf = logged_in("discipline.hf")
    asked = holder.post(
        f"/tasks/{task_id}/consult",
        data={"csrf_token": csrf, "users": ["discipline2.hf"], "question": "是否立案？"},
    )
    assert asked.status_code == 303
    page = holder.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "是否立案？" in page and "尚未回复" in page and "撤回" in page
    assert "意见尚未回复" in page  # why the form is closed

    second, csrf2 = logged_in("discipline2.hf")
    inbox = second.get("/tasks").get_data(as_text=True)
    assert 'id="asked-title"' in inbox and "是否立案？" in inbox
    [link] = [part.split('"')[0] for part in inbox.split('href="/consultations/')[1:2]]
    answer_page = second.get(f"/consultations/{link}").get_data(as_text=True)
    assert "回复意见" in answer_page and 'name="opinion"' in answer_page
    empty = second.post(f"/consultations/{link}", data={"csrf_token": csrf2, "opinion": " "})
    assert empty.status_code == 422 and 'id="opinion-error"' in empty.get_data(as_text=True)
    done = second.post(f"/consultations/{link}", data={"csrf_token": csrf2, "opinion": "同意立案"})
    assert done.status_code == 303
    assert "是否立案？" in second.get("/consultations?state=answered").get_data(as_text=True)

    page = holder.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "同意立案" in page and "征求意见：立案" in page  # in 办理记录
    completed = holder.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "action": "complete"})
    assert completed.status_code == 303
    case_page = holder.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "加签征求意见" in case_page and f"{SECOND}：同意立案" in case_page


def test_withdraw_from_the_task_page(world: World, logged_in: Any) -> None:
    _case_id, task_id = _register(world)
    holder, csrf = logged_in("discipline.hf")
    holder.post(
        f"/tasks/{task_id}/consult",
        data={"csrf_token": csrf, "users": ["organization.hf"], "question": "意见？"},
    )
    page = holder.get(f"/tasks/{task_id}").get_data(as_text=True)
    consultation_id = page.split('action="/consultations/')[1].split("/withdraw")[0]
    withdrawn = holder.post(f"/consultations/{consultation_id}/withdraw", data={"csrf_token": csrf})
    assert withdrawn.status_code == 303
    assert "已撤回" in holder.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_copies_to_me_page_and_the_copied_reader(world: World, logged_in: Any) -> None:
    case_id, task_id = _register(world)
    holder, csrf = logged_in("discipline.hf")
    copied = holder.post(
        f"/tasks/{task_id}/copy",
        data={"csrf_token": csrf, "users": ["committee.hf"], "note": "请知悉立案情况"},
    )
    assert copied.status_code == 303
    committee, csrf3 = logged_in("committee.hf")
    nav = committee.get("/tasks").get_data(as_text=True)
    assert 'href="/copies"' in nav
    mine = committee.get("/copies").get_data(as_text=True)
    assert "请知悉立案情况" in mine and "标为已读" in mine
    copy_id = mine.split('action="/copies/')[1].split("/read")[0]
    assert committee.post(f"/copies/{copy_id}/read", data={"csrf_token": csrf3}).status_code == 303
    assert 'action="/copies/' not in committee.get("/copies").get_data(as_text=True)
    assert committee.get(f"/cases/{case_id}").status_code == 200
    assert "抄送 committee hf" in holder.get(f"/cases/{case_id}").get_data(as_text=True)


def test_a_colleague_of_another_unit_sees_no_request(world: World, logged_in: Any) -> None:
    _case_id, task_id = _register(world)
    holder, csrf = logged_in("discipline.hf")
    holder.post(
        f"/tasks/{task_id}/consult",
        data={"csrf_token": csrf, "users": ["organization.hf"], "question": "意见？"},
    )
    other, _ = logged_in("discipline.wh")
    assert other.get("/consultations/1").status_code == 404
    assert "意见？" not in other.get("/consultations").get_data(as_text=True)


def test_copy_on_completion_copies_with_the_completion_or_neither(
    world: World, logged_in: Any
) -> None:
    from sqlalchemy import func, select

    from workflows.engine.models import HumanTask
    from workflows.tasks.models import TaskCopy

    _case_id, task_id = _register(world)
    client, csrf = logged_in("discipline.hf")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'name="copy_to_users" multiple' in page and "办理后抄送（可选）" in page

    def state() -> tuple[int, str]:
        with world.rt.db.reading() as session:
            copied = session.execute(select(func.count()).select_from(TaskCopy)).scalar_one()
            return int(copied), session.get(HumanTask, task_id).state

    refused = client.post(
        f"/tasks/{task_id}",
        data={"csrf_token": csrf, "action": "complete", "copy_to_users": ["discipline2.hf"]},
    )
    assert refused.status_code == 422  # a copy needs its note: nothing copied, nothing completed
    html = refused.get_data(as_text=True)
    assert 'id="copy-to-note-error"' in html and '<option value="discipline2.hf" selected>' in html
    assert state() == (0, "open")
    done = client.post(
        f"/tasks/{task_id}",
        data={
            "csrf_token": csrf,
            "action": "complete",
            "copy_to_users": ["discipline2.hf"],
            "copy_to_note": "已立案，请知悉",
        },
    )
    assert done.status_code == 303
    assert state() == (1, "completed")
