"""The year ahead: from 90 days before a year that neither chinesecalendar nor an administrator
declared, the admin pages and the supervision dashboard say what will fail; admins get a link
to the calendar import. (The test world declares 2027 and 2028; chinesecalendar knows up
to 2026.)"""

from __future__ import annotations

from typing import Any

from tests.conftest import set_clock
from workflows.runtime import Runtime

WARNING = "2029 年的节假日安排尚未收录，也未声明：办理期限落在 2029 年的案件将无法立案"
LINK = 'href="/admin/calendar?year=2029#import"'


def _page(logged_in: Any, rt: Runtime, user: str, moment: str, path: str) -> str:
    """A page as `user` sees it at `moment` (logged in then: a session does not outlive a jump)."""
    set_clock(rt, moment)
    client, _csrf = logged_in(user)
    return client.get(path).get_data(as_text=True)


def test_admins_are_warned_90_days_ahead_and_led_to_the_import(logged_in: Any, rt: Runtime) -> None:
    # 2028-12-31 is 90 days after 2028-10-02: 2029 is not yet within reach
    assert WARNING not in _page(logged_in, rt, "admin.hf", "2028-10-02 09:00", "/admin/users")
    set_clock(rt, "2028-10-03 09:00")
    client, csrf = logged_in("admin.hf")
    for path in ("/admin/users", "/admin/calendar", "/admin/deadlines"):
        page = client.get(path).get_data(as_text=True)
        assert WARNING in page and LINK in page, path
    declared = client.post(
        "/admin/calendar/years", data={"csrf_token": csrf, "declare_year": "2029", "year": "2029"}
    )
    assert declared.status_code == 303
    assert WARNING not in client.get("/admin/users").get_data(as_text=True)


def test_supervisors_see_it_on_the_dashboard_without_the_admin_link(
    logged_in: Any, rt: Runtime
) -> None:
    page = _page(logged_in, rt, "supervisor.hf", "2028-11-15 09:00", "/supervision")
    assert WARNING in page and LINK not in page and "请系统管理员" in page
    assert WARNING not in _page(logged_in, rt, "supervisor.hf", "2028-06-01 09:00", "/supervision")


def test_other_pages_do_not_warn(logged_in: Any, rt: Runtime) -> None:
    assert WARNING not in _page(logged_in, rt, "discipline.hf", "2028-11-15 09:00", "/inbox")
