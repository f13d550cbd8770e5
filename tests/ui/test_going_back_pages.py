"""退回 and 撤回 on the task page: the forms, errors beside the fields, the reopened step."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.support.world import World
from workflows.engine.models import HumanTask
from workflows.tasks.models import GoingBack


def _going_backs(world: World) -> int:
    with world.rt.db.reading() as session:
        return len(session.execute(select(GoingBack)).all())


def test_return_form_offers_the_steps_passed_and_refuses_a_missing_reason_beside_it(
    logged_in: Any, world: World
) -> None:
    case = world.awaiting_decision()
    decide = world.task(case, "decide").id
    client, csrf = logged_in("committee.hf")
    html = client.get(f"/tasks/{decide}").get_data(as_text=True)
    assert f'action="/tasks/{decide}/return"' in html
    assert '<option value="investigate"' in html and '<option value="register"' in html
    assert '<option value="notify"' not in html

    refused = client.post(
        f"/tasks/{decide}/return",
        data={"csrf_token": csrf, "to_step": "investigate", "reason": " "},
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="return-reason-error"' in page and "请填写理由" in page
    assert '<details class="going-back" open>' in page
    assert _going_backs(world) == 0

    no_token = client.post(
        f"/tasks/{decide}/return", data={"to_step": "investigate", "reason": "x"}
    )
    assert no_token.status_code in (400, 403) and _going_backs(world) == 0

    done = client.post(
        f"/tasks/{decide}/return",
        data={"csrf_token": csrf, "to_step": "investigate", "reason": "资金流向未查清"},
    )
    assert done.status_code == 303 and _going_backs(world) == 1

    investigator, _csrf = logged_in("discipline.hf")
    reopened = world.task(case, "investigate")
    page = investigator.get(f"/tasks/{reopened.id}").get_data(as_text=True)
    assert "本步骤已被退回，请重新办理" in page and "资金流向未查清" in page
    assert "已载入草稿" in page and "违规拨付属实" in page  # their data, prefilled


def test_withdraw_from_the_completed_step_page(logged_in: Any, world: World) -> None:
    case = world.awaiting_decision()
    with world.rt.db.reading() as session:
        considered = session.execute(
            select(HumanTask.id).where(
                HumanTask.instance_id == case.instance_id,
                HumanTask.task_spec == "consider_tolerance",
            )
        ).scalar_one()
    client, csrf = logged_in("discipline.hf")
    page = client.get(f"/tasks/{considered}").get_data(as_text=True)
    assert f'action="/tasks/{considered}/withdraw"' in page
    other, _other_csrf = logged_in("discipline2.hf")
    assert "withdraw" not in other.get(f"/tasks/{considered}").get_data(as_text=True)

    missing = client.post(f"/tasks/{considered}/withdraw", data={"csrf_token": csrf, "reason": ""})
    assert missing.status_code == 422 and 'id="withdraw-reason-error"' in missing.get_data(
        as_text=True
    )
    done = client.post(
        f"/tasks/{considered}/withdraw", data={"csrf_token": csrf, "reason": "理由写错了"}
    )
    assert done.status_code == 303
    reopened = world.task(case, "consider_tolerance")
    assert done.headers["Location"].endswith(f"/tasks/{reopened.id}")
    assert world.task(case, "consider_tolerance").assignee == "discipline.hf"
    again = client.post(f"/tasks/{considered}/withdraw", data={"csrf_token": csrf, "reason": "x"})
    assert again.status_code == 303 and _going_backs(world) == 1  # refused with a message
    assert "不能撤回" in client.get(f"/tasks/{considered}").get_data(as_text=True)


def test_the_missing_reason_refusal_reads_in_the_page_language(
    logged_in: Any, world: World
) -> None:
    case = world.awaiting_decision()
    decide = world.task(case, "decide").id
    client, csrf = logged_in("committee.hf")
    data = {"csrf_token": csrf, "to_step": "investigate", "reason": " "}

    chinese = client.post(f"/tasks/{decide}/return", data=data)
    page = chinese.get_data(as_text=True)
    assert chinese.status_code == 422 and "请填写理由" in page
    assert "Please enter a reason" not in page

    english = client.post(f"/tasks/{decide}/return?lang=en", data=data)
    page = english.get_data(as_text=True)
    assert english.status_code == 422 and 'id="return-reason-error"' in page
    assert "Please enter a reason" in page and "请填写理由" not in page
    assert _going_backs(world) == 0
