"""系统管理: the landing page, users (create, edit role/unit/active/e-mail, reset the password,
unlock) and org units (the tree, create) of the administrator's own subtree.

The rules are the API's: the argument schemas both use (server/schemas.py) check the
form fields and workflows/org/admin.py does the rest (scope, own account, unique names) and audits each
change. A refused form comes back with each message beside its field and the values kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server import auth
from server.schemas import OrgUnitCreateArgs, UserCreateArgs, UserPatchArgs
from server.ui import form_errors
from server.ui.common import bp, redirect_with
from server.ui.layout import ROLE_LABELS
from workflows import access
from workflows.errors import ValidationFailed
from workflows.org import admin, people
from workflows.org.models import OrgUnit, User

LEVEL_LABELS = {"province": _l("省级"), "city": _l("市级"), "county": _l("县级")}


@bp.get("/admin", endpoint="admin")
def admin_home() -> Any:
    """系统管理's start: what an administrator can manage here."""
    with auth.reading() as (_session, principal):
        access.check_may_administer(principal)
    return render_template("admin/home.html")


def _units(session: Any, principal: access.Principal) -> list[OrgUnit]:
    return admin.org_units(session, principal=principal)


def _unit_options(units: list[OrgUnit]) -> list[tuple[str, str]]:
    return [(u.code, f"{u.name}（{u.code}）") for u in units]


@bp.get("/admin/users")
def admin_users() -> Any:
    """The users of my units, filtered by text, role or unit."""
    rt = auth.runtime()
    text = (request.args.get("q") or "").strip()[:100]
    role = request.args.get("role") or ""
    unit = request.args.get("unit") or ""
    with auth.reading() as (session, principal):
        everyone = admin.users(session, principal=principal)
        units = _units(session, principal)
        me = principal.username
    shown = [
        u
        for u in everyone
        if (
            not text
            or text.lower() in u.username.lower()
            or text in u.display_name
            or text in (u.post or "")
        )
        and (not role or u.role == role)
        and (not unit or u.org_unit_code == unit)
    ]
    return render_template(
        "admin/users.html",
        users=shown,
        total=len(everyone),
        units=units,
        unit_names={u.code: u.name for u in units},
        roles=ROLE_LABELS,
        asked={"q": text, "role": role, "unit": unit},
        now=rt.clock.now(),
        me=me,
    )


def _user_form(values: Mapping[str, Any], errors: Mapping[str, str], status: int = 200) -> Any:
    with auth.reading() as (session, principal):
        units = _units(session, principal)
    return render_template(
        "admin/user_new.html",
        values=values,
        errors=errors,
        unit_options=_unit_options(units),
        roles=ROLE_LABELS,
    ), status


@bp.get("/admin/users/new")
def admin_user_new() -> Any:
    """The form for a new user."""
    with auth.reading() as (_session, principal):
        access.check_may_administer(principal)
        unit = principal.org_unit
    return _user_form({"org_unit": unit, "role": "discipline"}, {})


@bp.post("/admin/users/new")
def admin_user_create() -> Any:
    """Create a user in one of my units."""
    form_errors.require_token()
    form = request.form
    values = {
        name: form.get(name, "").strip()
        for name in ("username", "display_name", "post", "role", "org_unit", "cadre_id", "email")
    }
    data: dict[str, Any] = {
        k: v for k, v in values.items() if k not in ("cadre_id", "email", "post") or v
    }
    data["password"] = form.get("password", "")
    loaded, errors = form_errors.load(UserCreateArgs(), data)
    if data["password"] != form.get("password_confirm", ""):
        errors.setdefault("password_confirm", _("两次输入的密码不一致"))
    if errors:
        return _user_form(values, errors, 422)
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            created = admin.create_user(
                session, principal=principal, clock=rt.clock, hasher=rt.hasher, **loaded
            )
            username = created.username
    except ValidationFailed as err:
        return _user_form(values, form_errors.of_domain(err), 422)
    return redirect_with(
        url_for("ui.admin_user", username=username),
        _("已创建用户 %(name)s", name=username),
        "success",
    )


def _edit_page(
    username: str,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Any:
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        found: User = admin.user(session, principal=principal, username=username)
        units = _units(session, principal)
        shown = {
            "display_name": found.display_name,
            "post": found.post or "",
            "email": found.email or "",
            "role": found.role,
            "org_unit": found.org_unit_code,
            "active": found.active,
        }
        page = render_template(
            "admin/user_edit.html",
            account=found,
            label=people.person_of(
                found, {u.code: u.name for u in units}.get(found.org_unit_code)
            ).label,
            values={**shown, **(values or {})},
            errors=errors or {},
            unit_options=_unit_options(units),
            roles=ROLE_LABELS,
            now=rt.clock.now(),
            own=found.username == principal.username,
        )
    return page, status


@bp.get("/admin/users/<string:username>")
def admin_user(username: str) -> Any:
    """One user: name, role, unit, active; password reset and unlock."""
    return _edit_page(username)


def _update(username: str, data: dict[str, Any], values: Mapping[str, Any], done: str) -> Any:
    loaded, errors = form_errors.load(UserPatchArgs(), data)
    if errors:
        return _edit_page(username, values=values, errors=errors, status=422)
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            admin.update_user(
                session,
                principal=principal,
                username=username,
                clock=rt.clock,
                hasher=rt.hasher,
                **loaded,
            )
    except ValidationFailed as err:
        return _edit_page(username, values=values, errors=form_errors.of_domain(err), status=422)
    return redirect_with(url_for("ui.admin_user", username=username), done, "success")


@bp.post("/admin/users/<string:username>")
def admin_user_update(username: str) -> Any:
    """Save 姓名, 职务, e-mail, role, unit and whether the account is active."""
    form_errors.require_token()
    form = request.form
    values = {
        "display_name": form.get("display_name", "").strip(),
        "post": form.get("post", "").strip(),
        "email": form.get("email", "").strip(),
        "role": form.get("role", ""),
        "org_unit": form.get("org_unit", ""),
        "active": form.get("active") == "1",
    }
    return _update(username, dict(values), values, _("已保存 %(name)s 的账户信息", name=username))


@bp.post("/admin/users/<string:username>/password")
def admin_user_password(username: str) -> Any:
    """Reset the password (the user's sessions end)."""
    form_errors.require_token()
    password = request.form.get("password", "")
    if password != request.form.get("password_confirm", ""):
        return _edit_page(
            username, errors={"password_confirm": _("两次输入的密码不一致")}, status=422
        )
    if not password:
        return _edit_page(username, errors={"password": _("请输入新密码")}, status=422)
    return _update(
        username,
        {"password": password},
        {},
        _("已重置 %(name)s 的密码，其登录会话已失效", name=username),
    )


@bp.post("/admin/users/<string:username>/unlock")
def admin_user_unlock(username: str) -> Any:
    """Lift the lock after too many failed logins."""
    return _update(username, {"unlock": True}, {}, _("已解除 %(name)s 的登录锁定", name=username))


# -- org units ---------------------------------------------------------------------------
def _tree(units: list[OrgUnit]) -> list[tuple[OrgUnit, list[Any]]]:
    """The units as nested (unit, children) pairs from the top of the administrator's subtree."""
    codes = {u.code for u in units}
    children: dict[str | None, list[OrgUnit]] = {}
    for unit in units:
        parent = unit.parent_code if unit.parent_code in codes else None
        children.setdefault(parent, []).append(unit)

    def build(parent: str | None) -> list[tuple[OrgUnit, list[Any]]]:
        return [(u, build(u.code)) for u in sorted(children.get(parent, []), key=lambda u: u.code)]

    return build(None)


def _units_page(values: Mapping[str, Any], errors: Mapping[str, str], status: int = 200) -> Any:
    with auth.reading() as (session, principal):
        units = _units(session, principal)
        people = admin.users(session, principal=principal)
    counts: dict[str, int] = {}
    for person in people:
        counts[person.org_unit_code] = counts.get(person.org_unit_code, 0) + 1
    return render_template(
        "admin/units.html",
        tree=_tree(units),
        unit_options=_unit_options(units),
        counts=counts,
        levels=LEVEL_LABELS,
        values=values,
        errors=errors,
    ), status


@bp.get("/admin/units")
def admin_units() -> Any:
    """My unit and the units below it, as a tree; the form for a new unit."""
    with auth.reading() as (_session, principal):
        unit = principal.org_unit
    return _units_page({"parent": unit, "level": "county"}, {})


@bp.post("/admin/units")
def admin_unit_create() -> Any:
    """Create a unit below one of my units."""
    form_errors.require_token()
    values = {
        name: request.form.get(name, "").strip() for name in ("code", "name", "level", "parent")
    }
    loaded, errors = form_errors.load(OrgUnitCreateArgs(), values)
    if errors:
        return _units_page(values, errors, 422)
    rt = auth.runtime()
    try:
        with auth.writing() as (session, principal):
            admin.create_org_unit(session, principal=principal, clock=rt.clock, **loaded)
    except ValidationFailed as err:
        return _units_page(values, form_errors.of_domain(err), 422)
    return redirect_with(
        url_for("ui.admin_units"),
        _("已创建单位 %(name)s（%(code)s）", name=values["name"], code=values["code"]),
        "success",
    )
