"""The frame of every page: who is logged in, the unread count, navigation by role.

The navigation lists pages by endpoint; an entry appears only once its page exists
(`page_url`), so a new page joins the header by being registered on the blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from server import auth
from server.ui import i18n
from server.ui.common import bp, csrf_token, flashes, is_htmx, page_url
from workflows.access import Principal
from workflows.org import people
from workflows.roles import ROLES
from workflows.tasks import notifications

#: Roles whose people work cases in task queues (DOMAIN.md §1).
CLERKS = frozenset({"discipline", "organization", "functional", "committee", "unit"})
#: Those who work in queues and case lists: a cadre has their own home instead (我的案件).
OFFICIALS = CLERKS | {"supervisor"}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy gettext string
    roles: frozenset[str]


NAV = (
    NavItem("ui.my_cases", _l("我的案件"), frozenset({"cadre"})),
    NavItem("ui.inbox", _l("待办"), OFFICIALS),
    NavItem("ui.cases", _l("案件"), OFFICIALS),
    NavItem("ui.cadres", _l("干部档案"), OFFICIALS),
    NavItem("ui.supervision", _l("督查"), frozenset({"supervisor"})),
    NavItem("ui.processes", _l("流程设计"), frozenset({"designer"})),
    NavItem("ui.admin", _l("系统管理"), frozenset({"admin"})),
    NavItem("ui.official_templates", _l("公文模板"), frozenset({"designer", "admin"})),
    NavItem("ui.incidents", _l("故障"), frozenset({"designer", "admin"})),
    # last: nobody lands on it (a role's first item is its landing page)
    NavItem("ui.copies", _l("抄送我的"), CLERKS | {"supervisor", "admin"}),
)


#: ROLES' names, translatable (the keys are DOMAIN.md §1's).
ROLE_LABELS = {
    "discipline": _l("纪检监察机关"),
    "organization": _l("组织部门"),
    "functional": _l("相关职能部门"),
    "committee": _l("党委(党组)"),
    "unit": _l("所在单位"),
    "cadre": _l("干部本人"),
    "supervisor": _l("督查"),
    "designer": _l("流程设计"),
    "admin": _l("系统管理"),
}


@dataclass(frozen=True)
class CurrentUser:
    username: str
    display_name: str
    role: str
    role_name: str
    org_unit: str
    org_unit_name: str
    unread: int


def nav_for(role: str) -> list[tuple[NavItem, str]]:
    """The header's links for a role: (item, url), only pages that exist."""
    found = []
    for item in NAV:
        url = page_url(item.endpoint) if role in item.roles else None
        if url:
            found.append((item, url))
    return found


def home_for(role: str) -> str:
    """Where a role lands after login: its first page, or the inbox."""
    found = nav_for(role)
    return found[0][1] if found else url_for("ui.inbox")


def current_user() -> CurrentUser | None:
    """The logged-in user of this request (once a handler identified them), read once: with
    the session and in the handler's read transaction (`read_header`) when it had one."""
    caller = auth.caller()
    if caller is None:
        return None
    if "ui_user" not in g:
        p = caller.principal
        me, unread = p.person, g.pop("ui_unread", None)
        if me is None or unread is None:
            with auth.runtime().db.reading() as session:
                me = me or people.person(session, p.username)
                unread = notifications.unread_count(session, username=p.username)
        g.ui_user = CurrentUser(
            username=p.username,
            display_name=me.name if me else p.username,
            role=p.role,
            role_name=str(ROLE_LABELS.get(p.role, ROLES.get(p.role, p.role))),
            org_unit=p.org_unit,
            org_unit_name=me.unit_name if me else p.org_unit,
            unread=unread,
        )
    user_: CurrentUser = g.ui_user
    return user_


@bp.before_request
def _read_header_with_the_page() -> None:
    if not is_htmx():  # a fragment has no header
        auth.also_read(read_header)


def read_header(session: Session, principal: Principal) -> None:
    """What the header shows besides the session's user (the unread notices), read at the
    end of a page's read transaction (auth.also_read)."""
    g.ui_unread = notifications.unread_count(session, username=principal.username)


def _helpers() -> dict[str, Any]:
    return {
        "current_user": current_user,
        "nav_for": nav_for,
        "page_url": page_url,
        "csrf_token": csrf_token,
        "flashes": flashes,
        "html_lang": i18n.html_lang,
        "locale": i18n.current_locale,
        "languages": i18n.LANGUAGES,
        "here": lambda: request.full_path.rstrip("?"),
    }


# Globals rather than a context processor: imported macros see them too.
bp.record_once(lambda state: state.app.jinja_env.globals.update(_helpers()))
