"""迁移运行中的案件 page: the dry-run table, migrating the ticked instances, reverting a move,
and the refusals (no instance ticked, a bad version, someone who is not a designer)."""

from __future__ import annotations

from typing import Any

from tests import support
from tests.support.world import World
from workflows.runtime import Runtime

PAGE = "/processes/migrating/migrations"


def _setup(rt: Runtime) -> tuple[int, int]:
    """Version 1 with an instance at 登记 and one at 审核; versions 2 and 3 deployed."""
    support.deploy(rt, "migrating/v1/migrating.bpmn")
    at_register = support.start(rt, "migrating")
    at_review = support.start(rt, "migrating")
    support.complete(rt, support.task_named(rt, "register", at_review).id)
    support.deploy(rt, "migrating/v2/migrating.bpmn")
    support.deploy(rt, "migrating/v3/migrating.bpmn")
    return at_register, at_review


def test_dry_run_table_then_migrate_the_movable_then_revert(
    world: World, rt: Runtime, logged_in: Any
) -> None:
    at_register, at_review = _setup(rt)
    client, csrf = logged_in("designer.hf")
    listing = client.get("/processes").get_data(as_text=True)
    assert f'href="{PAGE}"' in listing and "迁移案件" in listing
    page = client.get(f"{PAGE}?from_version=1&to_version=3").get_data(as_text=True)
    assert "预检结果：第 1 版 → 第 3 版" in page
    assert f'id="plan-{at_register}" class="movable"' in page
    assert f'id="plan-{at_review}" class="refused"' in page
    assert "实例正停在步骤“审核”（review）" in page
    assert f'name="instance_id" value="{at_review}"' not in page  # nothing to tick
    moved = client.post(
        PAGE,
        data={
            "csrf_token": csrf,
            "from_version": "1",
            "to_version": "3",
            "instance_id": [str(at_register)],
        },
        follow_redirects=True,
    )
    text = moved.get_data(as_text=True)
    assert moved.status_code == 200 and "已迁移 1 个案件到第 3 版，0 个未迁移" in text
    assert "撤销迁移" in text
    assert support.task_named(rt, "register", at_register)
    reverted = client.post(
        f"{PAGE}/1/revert",
        data={"csrf_token": csrf, "instance_id": str(at_register)},
        follow_redirects=True,
    )
    text = reverted.get_data(as_text=True)
    assert "已撤销迁移：案件回到第 1 版" in text and "已撤销：" in text
    again = client.post(
        f"{PAGE}/1/revert",
        data={"csrf_token": csrf, "instance_id": str(at_register)},
        follow_redirects=True,
    )
    assert "已撤销" in again.get_data(as_text=True)


def test_refusals_are_worded_beside_the_field(world: World, rt: Runtime, logged_in: Any) -> None:
    _setup(rt)
    client, csrf = logged_in("designer.hf")
    nothing_ticked = client.post(
        PAGE, data={"csrf_token": csrf, "from_version": "1", "to_version": "2"}
    )
    assert nothing_ticked.status_code == 422
    assert "请至少勾选一个可迁移的案件" in nothing_ticked.get_data(as_text=True)
    older = client.get(f"{PAGE}?from_version=3&to_version=1")
    assert older.status_code == 422
    html = older.get_data(as_text=True)
    assert 'id="to-version-error"' in html and "目标版本应比原版本（第 3 版）新" in html
    unknown = client.get(f"{PAGE}?from_version=x&to_version=2")
    assert unknown.status_code == 422 and "没有第 0 版" in unknown.get_data(as_text=True)
    no_token = client.post(
        PAGE, data={"from_version": "1", "to_version": "2", "instance_id": ["1"]}
    )
    assert no_token.status_code in (400, 403)


def test_only_designers_see_the_page(world: World, rt: Runtime, logged_in: Any) -> None:
    _setup(rt)
    client, _csrf = logged_in("admin.hf")
    assert client.get(PAGE).status_code == 403
    assert "迁移案件" not in client.get("/processes").get_data(as_text=True)
