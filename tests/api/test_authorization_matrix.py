"""The authorization matrix: every API endpoint × every role × a user placed in the object's
own org unit, a sibling unit and the parent unit, against the policy table below; every
cell must agree. A new endpoint without a row here fails `test_every_endpoint_has_a_policy`.

Objects live in 合肥市 (ah-hf): a case of cadre 张三 (zhang) whose first task, 立案, is in the
discipline lane. Users: `<role>.hf` (own), `<role>.wh` (sibling 芜湖市), `<role>.ah` (parent
安徽省). The cadre role: `zhang` (own: the case is theirs), `wang` (a cadre of 芜湖市),
`zhao` (a cadre of 安徽省).

Outcomes: "ok" = 2xx; 403 = sees the object but may not act; 404 = sees nothing (out of
scope looks exactly like missing).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from server import create_app
from server.auth import COOKIE
from tests import support
from tests.support import DATA, HASHER
from tests.support.kept import Checkpoint, kept
from tests.support.world import World, make_world
from workflows import access
from workflows.cadres.models import Cadre
from workflows.cases import blacklist
from workflows.definitions import catalog, form_drafts
from workflows.definitions import migrations as process_migrations
from workflows.documents import service as documents
from workflows.engine import calendar_overrides, instances
from workflows.engine.incidents import service as incidents
from workflows.official import kinds, templates
from workflows.official.models import OfficialDocument
from workflows.org import service as org
from workflows.roles import ROLES
from workflows.runtime import Runtime
from workflows.tasks import consultations, copies
from workflows.tasks import service as work
from workflows.tasks.models import Notification
from workflows.tasks.outbox import MailOutbox

PLACEMENTS = ("own", "sibling", "parent")
SUFFIX = {"own": "hf", "sibling": "wh", "parent": "ah"}
CADRE_USER = {"own": "zhang", "sibling": "wang", "parent": "zhao"}
REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
CLERKS = ("discipline", "organization", "functional", "committee", "unit")
OVERSEERS = ("supervisor", "admin")


# -- who sees what (DOMAIN.md §1) ------------------------------------------------------
def sees_case(role: str, placement: str) -> bool:
    if role == "designer":
        return False
    if role == "cadre":
        return placement == "own"
    if role in OVERSEERS:
        return placement in ("own", "parent")
    return placement == "own"


def sees_task(role: str, placement: str, task_role: str) -> bool:
    if role == "cadre":
        return placement == "own" and task_role == "cadre"
    return sees_case(role, placement)


def everyone(_role: str, _placement: str) -> Any:
    return "ok"


def only(*roles: str) -> Callable[[str, str], Any]:
    """Global resources: the listed roles may, everyone else is refused (403)."""
    return lambda role, _placement: "ok" if role in roles else 403


def read_case(role: str, placement: str) -> Any:
    return "ok" if sees_case(role, placement) else 404


def read_diagram(role: str, placement: str) -> Any:
    """The diagram's parts are internal: not the cadre's (DOMAIN.md §6), as if there were none."""
    return 404 if role == "cadre" else read_case(role, placement)


def own_cases(role: str, _placement: str) -> Any:
    """我的案件 is a cadre's home; officials have their queues (403)."""
    return "ok" if role == "cadre" else 403


def read_task(role: str, placement: str) -> Any:
    return "ok" if sees_task(role, placement, "discipline") else 404


def act_on_task(role: str, placement: str) -> Any:
    """Work the 立案 task: visible → the discipline clerk of ah-hf may, others 403."""
    if not sees_task(role, placement, "discipline"):
        return 404
    return "ok" if role == "discipline" and placement == "own" else 403


# -- the world and its objects -----------------------------------------------------------
@dataclass
class Probe:
    world: World
    app: Flask
    logins: dict[str, tuple[str, str]]  # username → (session cookie, CSRF token)
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, username: str) -> Any:
        """A client of `username`'s session, opened when the matrix world was built."""
        if username not in self._clients:
            secret, csrf = self.logins[username]
            client = self.app.test_client()
            client.set_cookie(COOKIE, secret)
            self._clients[username] = (client, csrf)
        return self._clients[username]

    def case(self) -> Any:
        return self.world.open("accountability", data=REGISTER)

    def register_task(self) -> int:
        return self.world.task(self.case(), "register").id


def _user(role: str, placement: str) -> str:
    return CADRE_USER[placement] if role == "cadre" else f"{role}.{SUFFIX[placement]}"


@dataclass(frozen=True)
class Row:
    """One endpoint's policy: how to make its object and body, and the expected outcome."""

    method: str
    path: str  # as in the OpenAPI document
    expect: Callable[[str, str], Any]
    params: Callable[[Probe], dict[str, Any]] = lambda _p: {}
    body: Callable[[Probe, dict[str, Any]], Any] = lambda _p, _params: None
    query: str = ""
    fresh: bool = False  # a new object for every cell (the call changes it)
    multipart: bool = False  # the body is a form with files, not JSON

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def task_param(probe: Probe) -> dict[str, Any]:
    return {"task_id": probe.register_task()}


def claimed_task(probe: Probe) -> dict[str, Any]:
    """The 立案 task, held by discipline.hf."""
    task_id = probe.register_task()
    rt = probe.world.rt
    with rt.db.transaction() as session:
        work.claim(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            task_id=task_id,
            clock=rt.clock,
        )
    return {"task_id": task_id}


def investigation_param(probe: Probe) -> dict[str, Any]:
    """责任调查, open after discipline.hf completed 立案 (which it may be sent back to)."""
    case = probe.case()
    probe.world.complete(case, "register", {}, "discipline.hf")
    return {"task_id": probe.world.task(case, "investigate").id}


def registered_param(probe: Probe) -> dict[str, Any]:
    """立案, completed by discipline.hf: only they may withdraw it."""
    case = probe.case()
    task_id = probe.world.task(case, "register").id
    probe.world.complete(case, "register", {}, "discipline.hf")
    return {"task_id": task_id}


def consultation_param(probe: Probe) -> dict[str, Any]:
    """A request for opinions on 立案, asked by discipline.hf of organization.hf."""
    task_id, rt = probe.register_task(), probe.world.rt
    with rt.db.transaction() as session:
        row = consultations.ask(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            task_id=task_id,
            users=["organization.hf"],
            question="是否立案？",
            clock=rt.clock,
        )
        return {"consultation_id": row.id}


def copy_param(probe: Probe) -> dict[str, Any]:
    """立案 copied by discipline.hf to organization.hf."""
    task_id, rt = probe.register_task(), probe.world.rt
    with rt.db.transaction() as session:
        [row] = copies.copy(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            task_id=task_id,
            users=["organization.hf"],
            note="请知悉",
            clock=rt.clock,
        )
        return {"copy_id": row.id}


def involved(*roles: str, refused: tuple[str, ...] = ()) -> Callable[[str, str], Any]:
    """A request or copy: the own unit's users of `roles` may; those of `refused` see it but may
    not (403); nobody else sees it (404)."""

    def expect(role: str, placement: str) -> Any:
        if placement != "own":
            return 404
        return "ok" if role in roles else 403 if role in refused else 404

    return expect


def urge(role: str, placement: str) -> Any:
    """催办: supervisors of the unit or above; others who see the task are refused."""
    if not sees_task(role, placement, "discipline"):
        return 404
    return "ok" if role == "supervisor" else 403


def escalate(role: str, placement: str) -> Any:
    """督办上报: as 催办; the probe's task is not overdue, so a supervisor who may escalate it is
    told so (409) — the refusals before it are the policy (tests/api/test_task_actions.py
    escalates an overdue one)."""
    found = urge(role, placement)
    return 409 if found == "ok" else found


#: A definition that deploys with the test forms (tests/data/forms).
DEFINITION = {
    "files": [
        {"name": "deadline.bpmn", "content": (DATA / "deadline.bpmn").read_text(encoding="utf-8")}
    ]
}
_SEQ = itertools.count(1)


FORM = {
    "type": "object",
    "properties": {"decided_on": {"type": "string", "format": "date", "title": "决定日期"}},
}


def register_form(_probe: Probe) -> dict[str, Any]:
    """The deployed form of 立案."""
    return {"stem": "accountability_register"}


def new_form(_probe: Probe) -> dict[str, Any]:
    """A form nobody has drafted yet."""
    return {"stem": f"matrix_form_{next(_SEQ)}"}


def drafted(probe: Probe) -> dict[str, Any]:
    """A new form's first draft, saved by designer.hf."""
    params = new_form(probe)
    rt = probe.world.rt
    with rt.transaction() as session:
        form_drafts.save(
            session,
            principal=access.principal_for(session, username="designer.hf"),
            stem=params["stem"],
            schema=FORM,
            uischema={},
            base_revision=0,
            clock=rt.clock,
        )
    return params


def two_versions(probe: Probe) -> dict[str, Any]:
    """The test process `migrating` deployed as versions 1 and 2."""
    support.deploy(probe.world.rt, "migrating/v1/migrating.bpmn")
    support.deploy(probe.world.rt, "migrating/v2/migrating.bpmn")
    return {"key": "migrating"}


def migrated_param(probe: Probe) -> dict[str, Any]:
    """An instance of `migrating` moved from version 1 to 2 by designer.hf."""
    two_versions(probe)
    rt = probe.world.rt
    with rt.transaction() as session:
        v1 = catalog.version_row(session, key="migrating", version=1)
        iid = instances.start(
            session, version=v1, data={}, org_unit="ah-hf", actor="tester", clock=rt.clock
        ).id
    with rt.transaction() as session:
        result = process_migrations.migrate(
            session,
            principal=access.principal_for(session, username="designer.hf"),
            key="migrating",
            from_version=1,
            to_version=2,
            instance_ids=[iid],
            clock=rt.clock,
        )
    return {"instance_id": iid, "migration_id": result.moved[0].migration_id}


def administer_in(unit_code: str) -> Callable[[str, str], Any]:
    """Creating in 合肥市: its admin and the province's may; 芜湖市's is told the unit is not theirs."""
    return lambda role, placement: (
        403 if role != "admin" else ("ok" if placement != "sibling" else 422)
    )


def administer_object(role: str, placement: str) -> Any:
    """A user of 合肥市: administered by its admin and the province's; absent for 芜湖市's."""
    return 403 if role != "admin" else ("ok" if placement != "sibling" else 404)


def holiday(probe: Probe) -> dict[str, Any]:
    """A day set by an admin, to be removed."""
    rt = probe.world.rt
    with rt.db.transaction() as session:
        calendar_overrides.set_day(
            session,
            day=date(2027, 10, 8),
            is_workday=False,
            note="国庆节",
            actor="matrix",
            clock=rt.clock,
        )
    return {"day": "2027-10-08"}


FINDING = {"facts": "审计发现违规拨付专项资金", "evidence": "审计报告〔2026〕3号"}


def case_param(probe: Probe) -> dict[str, Any]:
    return {"case_id": probe.case().id}


def decided_param(probe: Probe) -> dict[str, Any]:
    return {"case_id": probe.world.decided_accountability().id}


def cadre_param(probe: Probe) -> dict[str, Any]:
    return {"cadre_id": probe.world.cadres["zhang"]}


def open_case(role: str, placement: str) -> Any:
    if role not in ("discipline", "organization"):
        return 403
    return "ok" if placement == "own" else 404


def file_appeal(role: str, placement: str) -> Any:
    if not sees_case(role, placement):
        return 404
    return "ok" if role in ("cadre", "discipline", "organization") else 403


def apply_for_exemption(role: str, placement: str) -> Any:
    if not sees_case(role, placement):
        return 404
    return "ok" if role in ("unit", "discipline", "organization") else 403


MATRIX_PDF = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n"


def document_param(probe: Probe) -> dict[str, Any]:
    """A document of the probe's case, added by discipline.hf."""
    case, rt = probe.case(), probe.world.rt
    with rt.db.transaction() as session:
        row = documents.add(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            case_id=case.id,
            filename="调查报告.pdf",
            content=MATRIX_PDF,
            clock=rt.clock,
        )
        return {"document_id": row.id}


def add_document(role: str, placement: str) -> Any:
    """案件材料: the managing unit's discipline and organization clerks, the role of the open task
    (立案: discipline, in the same unit) and the cadre concerned add; others who see the case may not."""
    if not sees_case(role, placement):
        return 404
    return (
        "ok"
        if role == "cadre" or (role in ("discipline", "organization") and placement == "own")
        else 403
    )


def withdraw_document(role: str, placement: str) -> Any:
    """撤回 a document discipline.hf added: the managing unit's discipline and organization clerks
    (the uploader is one of them); the cadre and others who see the case may not."""
    if not sees_case(role, placement):
        return 404
    return "ok" if role in ("discipline", "organization") and placement == "own" else 403


BLACKLIST_READERS = ("discipline", "organization", "supervisor", "admin")


def blacklist_param(probe: Probe) -> dict[str, Any]:
    """A blacklist entry resting on the probe's case (合肥市)."""
    case, rt = probe.case(), probe.world.rt
    with rt.db.transaction() as session:
        entry = blacklist.add_entry(
            session,
            person_name="王五",
            basis_case_id=case.id,
            reviewer="discipline.hf",
            reason="捏造事实、虚假告发干部",
            entered_on=rt.clock.today(),
            clock=rt.clock,
        )
        return {"entry_id": entry.id}


def read_blacklist_entry(role: str, placement: str) -> Any:
    """Its readers who see the basis case; other readers find nothing, other roles are refused."""
    if role not in BLACKLIST_READERS:
        return 403
    return "ok" if sees_case(role, placement) else 404


def correct_blacklist_entry(role: str, placement: str) -> Any:
    """更正: organization clerks of the basis case's unit; other organization clerks find nothing."""
    if role != "organization":
        return 403
    return "ok" if placement == "own" else 404


POLICY: list[Row] = [
    Row("GET", "/api/v1/me", everyone),
    Row("GET", "/api/v1/auth/tokens", everyone),
    Row("POST", "/api/v1/auth/tokens", everyone, body=lambda _p, _a: {"name": "matrix"}),
    Row("GET", "/api/v1/tasks", everyone),
    Row("GET", "/api/v1/tasks/{task_id}", read_task, params=task_param),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/complete",
        act_on_task,
        params=task_param,
        fresh=True,
        body=lambda _p, _a: {"data": {}},
    ),
    Row("POST", "/api/v1/tasks/{task_id}/claim", act_on_task, params=task_param, fresh=True),
    Row("POST", "/api/v1/tasks/{task_id}/unclaim", act_on_task, params=claimed_task, fresh=True),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/delegate",
        act_on_task,
        params=task_param,
        fresh=True,
        body=lambda _p, _a: {"username": "discipline2.hf"},
    ),
    Row(
        "GET",
        "/api/v1/tasks/{task_id}/candidates",
        act_on_task,  # whom I may choose: for those who may delegate or transfer it
        params=task_param,
        query="?purpose=delegate",
    ),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/transfer",
        act_on_task,
        params=task_param,
        fresh=True,
        body=lambda _p, _a: {"username": "discipline2.hf"},
    ),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/urge",
        urge,
        params=task_param,
        body=lambda _p, _a: {"note": "请尽快办理"},
    ),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/escalate",
        escalate,
        params=task_param,
        body=lambda _p, _a: {"note": "逾期未办，督办上报"},
    ),
    Row("GET", "/api/v1/tasks/{task_id}/urges", read_task, params=task_param),
    Row("GET", "/api/v1/tasks/{task_id}/comments", read_task, params=task_param),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/comments",
        read_task,
        params=task_param,
        body=lambda _p, _a: {"body": "请核实"},
    ),
    Row("GET", "/api/v1/me/cases", own_cases),
    Row("GET", "/api/v1/notifications", everyone),
    Row("POST", "/api/v1/notifications/read", everyone, body=lambda _p, _a: {"all": True}),
]
POLICY += [  # 退回 and 撤回: on the investigation after 立案, and on 立案 itself
    Row("GET", "/api/v1/tasks/{task_id}/return-targets", read_task, params=investigation_param),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/return",
        act_on_task,
        params=investigation_param,
        fresh=True,
        body=lambda _p, _a: {"to_step": "register", "reason": "立案材料不全"},
    ),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/withdraw",
        act_on_task,
        params=registered_param,
        fresh=True,
        body=lambda _p, _a: {"reason": "立案日期填错"},
    ),
]
POLICY += [  # 加签 and 抄送: discipline.hf, who may complete 立案, asks or copies organization.hf
    Row("GET", "/api/v1/tasks/{task_id}/colleagues", read_task, params=task_param),
    Row("GET", "/api/v1/tasks/{task_id}/consultations", read_task, params=task_param),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/consultations",
        act_on_task,
        params=task_param,
        fresh=True,
        body=lambda _p, _a: {"users": ["organization.hf"], "question": "是否立案？"},
    ),
    Row("GET", "/api/v1/tasks/{task_id}/copies", read_task, params=task_param),
    Row(
        "POST",
        "/api/v1/tasks/{task_id}/copies",
        act_on_task,
        params=task_param,
        fresh=True,
        body=lambda _p, _a: {"users": ["organization.hf"], "note": "请知悉"},
    ),
    Row("GET", "/api/v1/consultations", everyone),
    Row(
        "GET",
        "/api/v1/consultations/{consultation_id}",
        involved("discipline", "organization"),
        params=consultation_param,
    ),
    Row(
        "POST",
        "/api/v1/consultations/{consultation_id}/answer",
        involved("organization", refused=("discipline",)),
        params=consultation_param,
        fresh=True,
        body=lambda _p, _a: {"opinion": "同意立案"},
    ),
    Row(
        "POST",
        "/api/v1/consultations/{consultation_id}/withdraw",
        involved("discipline", refused=("organization",)),
        params=consultation_param,
        fresh=True,
    ),
    Row("GET", "/api/v1/copies", everyone),
    Row("POST", "/api/v1/copies/{copy_id}/read", involved("organization"), params=copy_param),
]
POLICY += [  # processes, supervision, administration
    Row("GET", "/api/v1/processes", everyone),
    Row("GET", "/api/v1/processes/{key}", everyone, params=lambda _p: {"key": "accountability"}),
    Row(
        "GET",
        "/api/v1/processes/{key}/versions/{version}/bpmn",
        everyone,
        params=lambda _p: {"key": "accountability", "version": 1},
    ),
    Row("POST", "/api/v1/processes/validate", only("designer"), body=lambda _p, _a: DEFINITION),
    Row(
        "POST",
        "/api/v1/processes/check-expression",
        only("designer"),
        body=lambda _p, _a: {"expression": "amount > 5", "kind": "condition"},
    ),
    Row(
        "GET",
        "/api/v1/processes/{key}/versions/{old}/diff/{new}",
        only("designer", "admin"),
        params=lambda _p: {"key": "accountability", "old": 1, "new": 1},
    ),
    Row(
        "POST",
        "/api/v1/processes",
        only("designer"),
        body=lambda _p, _a: {**DEFINITION, "note": "测试部署", "confirm": True},
    ),
    Row(
        "POST",
        "/api/v1/processes/{key}/migrations/dry-run",
        only("designer"),
        params=two_versions,
        body=lambda _p, _a: {"from_version": 1, "to_version": 2},
    ),
    Row("GET", "/api/v1/processes/{key}/migrations", only("designer"), params=two_versions),
    Row(
        "POST",
        "/api/v1/processes/{key}/migrations",
        only("designer"),
        params=two_versions,
        body=lambda _p, _a: {"from_version": 1, "to_version": 2},
    ),
    Row(
        "POST",
        "/api/v1/instances/{instance_id}/migrations/{migration_id}/revert",
        only("designer"),
        params=migrated_param,
        fresh=True,
    ),
    Row("GET", "/api/v1/forms", only("designer", "admin")),
    Row("GET", "/api/v1/forms/{stem}", only("designer", "admin"), params=register_form),
    Row(
        "PUT",
        "/api/v1/forms/{stem}/draft",
        only("designer"),
        params=new_form,
        body=lambda _p, _a: {"schema": FORM, "uischema": {}, "base_revision": 0},
        fresh=True,
    ),
    Row("DELETE", "/api/v1/forms/{stem}/draft", only("designer"), params=drafted, fresh=True),
    Row(
        "POST",
        "/api/v1/forms/{stem}/preview",
        only("designer", "admin"),
        params=register_form,
        body=lambda _p, _a: {"schema": FORM, "data": {"decided_on": "2026-03-02"}},
    ),
    Row(
        "POST",
        "/api/v1/forms/{stem}/deploy",
        only("designer"),
        params=register_form,
        body=lambda _p, _a: {"note": "表单未改，重新部署", "confirm": True},
    ),
    Row("GET", "/api/v1/supervision/summary", only(*OVERSEERS)),
    Row("GET", "/api/v1/supervision/overdue", only(*OVERSEERS)),
    *(
        Row("GET", f"/api/v1/admin/{path}", only("admin"))
        for path in (
            "users",
            "roles",
            "org-units",
            "calendar",
            "settings/deadlines",
            "settings/time-limits",
            "clock",
            "audit",
            "mail",
        )
    ),
    Row(
        "POST",
        "/api/v1/admin/users",
        administer_in("ah-hf"),
        body=lambda _p, _a: {
            "username": f"matrix{next(_SEQ)}",
            "display_name": "新用户",
            "password": "long-enough-1",
            "role": "unit",
            "org_unit": "ah-hf",
        },
    ),
    Row(
        "PATCH",
        "/api/v1/admin/users/{username}",
        administer_object,
        params=lambda _p: {"username": "unit.hf"},
        body=lambda _p, _a: {"display_name": "所在单位"},
    ),
    Row(
        "POST",
        "/api/v1/admin/org-units",
        administer_in("ah-hf"),
        body=lambda _p, _a: {
            "code": f"ah-hf-m{next(_SEQ)}",
            "name": "某县",
            "level": "county",
            "parent": "ah-hf",
        },
    ),
    Row(
        "PUT",
        "/api/v1/admin/calendar/days/{day}",
        only("admin"),
        params=lambda _p: {"day": "2027-10-08"},
        body=lambda _p, _a: {"is_workday": False, "note": "国庆节"},
    ),
    Row("DELETE", "/api/v1/admin/calendar/days/{day}", only("admin"), params=holiday, fresh=True),
    Row("POST", "/api/v1/admin/calendar/years", only("admin"), body=lambda _p, _a: {"year": 2029}),
    Row(
        "POST",
        "/api/v1/admin/calendar/changes",
        only("admin"),
        body=lambda _p, _a: {
            "holiday_from": "2027-10-01",
            "holiday_to": "2027-10-03",
            "note": "国庆节",
            "dry_run": True,
        },
    ),
    Row(
        "PUT",
        "/api/v1/admin/settings/deadlines",
        only("admin"),
        body=lambda _p, _a: {"appeal_window_months": 1},
    ),
    Row(
        "GET",
        "/api/v1/admin/settings/time-limits/{process_key}/{element}",
        only("admin"),
        params=lambda _p: {"process_key": "accountability", "element": "investigate"},
    ),
    Row(
        "PUT",
        "/api/v1/admin/settings/time-limits/{process_key}/{element}",
        only("admin"),
        params=lambda _p: {"process_key": "accountability", "element": "investigate"},
        body=lambda _p, _a: {"amount": 30, "unit": "workdays", "reminder_workdays": 5},
    ),
    Row(
        "DELETE",
        "/api/v1/admin/settings/time-limits/{process_key}/{element}",
        only("admin"),
        params=lambda _p: {"process_key": "accountability", "element": "investigate"},
    ),
    Row("POST", "/api/v1/admin/clock", only("admin"), body=lambda _p, _a: {"advance": "0m"}),
    Row("POST", "/api/v1/admin/audit/verify", only("admin")),
]
POLICY += [  # cases, cadres, the blacklist
    Row("GET", "/api/v1/cases", everyone),
    Row(
        "POST",
        "/api/v1/cases",
        open_case,
        body=lambda p, _a: {
            "process": "accountability",
            "cadre_id": p.world.cadres["zhang"],
            "source": "audit",
            "data": FINDING,
        },
    ),
    Row("GET", "/api/v1/cases/{case_id}", read_case, params=case_param),
    Row("GET", "/api/v1/cases/{case_id}/diagram", read_diagram, params=case_param),
    Row(
        "POST",
        "/api/v1/cases/{case_id}/appeals",
        file_appeal,
        params=decided_param,
        fresh=True,
        body=lambda _p, _a: {"grounds": "处理过重"},
    ),
    Row(
        "POST",
        "/api/v1/cases/{case_id}/exemption-applications",
        apply_for_exemption,
        params=case_param,
        fresh=True,
        body=lambda _p, _a: {"reasons": "属于先行先试中的失误", "applicant": "unit"},
    ),
    Row("GET", "/api/v1/cadres", everyone),
    Row("GET", "/api/v1/cadres/{cadre_id}", read_case, params=cadre_param),
    Row("GET", "/api/v1/cadres/{cadre_id}/promotion-eligibility", read_case, params=cadre_param),
    Row("GET", "/api/v1/blacklist", only(*BLACKLIST_READERS)),
    Row("GET", "/api/v1/blacklist/{entry_id}", read_blacklist_entry, params=blacklist_param),
    Row(
        "POST",
        "/api/v1/blacklist/{entry_id}/corrections",
        correct_blacklist_entry,
        params=blacklist_param,
        fresh=True,
        body=lambda _p, _a: {
            "person_name": "王武",
            "reason": "姓名录入有误",
            "reviewer": "discipline2.hf",
        },
    ),
]
POLICY += [  # case documents (案件材料)
    Row("GET", "/api/v1/cases/{case_id}/documents", read_case, params=case_param),
    Row(
        "POST",
        "/api/v1/cases/{case_id}/documents",
        add_document,
        params=case_param,
        multipart=True,
        body=lambda _p, _a: {"file": (io.BytesIO(MATRIX_PDF), "调查报告.pdf"), "title": "调查报告"},
    ),
    Row("GET", "/api/v1/documents/{document_id}", read_case, params=document_param),
    Row("GET", "/api/v1/documents/{document_id}/content", read_case, params=document_param),
    Row(
        "POST",
        "/api/v1/documents/{document_id}/withdraw",
        withdraw_document,
        params=document_param,
        fresh=True,
        body=lambda _p, _a: {"reason": "与本案无关"},
    ),
]


def incident_param(probe: Probe) -> dict[str, Any]:
    """An incident on the probe's case's instance (合肥市)."""
    case, rt = probe.case(), probe.world.rt
    with rt.db.transaction() as session:
        return {
            "incident_id": incidents.record_failure(
                session,
                instance_id=case.instance_id,
                element="register",
                message="矩阵测试",
                clock=rt.clock,
            )
        }


def handle_incident(role: str, placement: str) -> Any:
    """故障: designers handle every incident; administrators those of their units (芜湖市's finds
    nothing); everyone else is refused."""
    if role == "designer":
        return "ok"
    if role == "admin":
        return "ok" if placement != "sibling" else 404
    return 403


POLICY += [  # incidents (故障)
    Row("GET", "/api/v1/incidents", only("admin", "designer")),
    Row("GET", "/api/v1/incidents/{incident_id}", handle_incident, params=incident_param),
    Row(
        "POST",
        "/api/v1/incidents/{incident_id}/retry",
        handle_incident,
        params=incident_param,
        fresh=True,
    ),
    Row(
        "POST",
        "/api/v1/incidents/{incident_id}/cancel",
        handle_incident,
        params=incident_param,
        fresh=True,
        body=lambda _p, _a: {"reason": "矩阵测试"},
    ),
]


def failed_mail_param(probe: Probe) -> dict[str, Any]:
    """A given-up e-mail of a notice to a clerk of 合肥市."""
    rt = probe.world.rt
    with rt.db.transaction() as session:
        notice = Notification(
            username="discipline.hf", kind="urged", title="催办", created_at=rt.clock.now()
        )
        session.add(notice)
        session.flush()
        row = MailOutbox(
            notification_id=notice.id,
            username="discipline.hf",
            address="discipline.hf@example.gov.cn",
            subject="催办",
            body="催办",
            created_at=rt.clock.now(),
            attempts=6,
            failed_at=rt.clock.now(),
            last_error="矩阵测试",
        )
        session.add(row)
        session.flush()
        return {"mail_id": row.id}


POLICY += [  # e-mail (邮件): the mail of a user of 合肥市
    Row(
        "POST",
        "/api/v1/admin/mail/{mail_id}/retry",
        administer_object,
        params=failed_mail_param,
        fresh=True,
    ),
]


def undelivered_param(probe: Probe) -> dict[str, Any]:
    """A case of 合肥市 decided by its committee and not yet served (送达 open, organization)."""
    return {"case_id": probe.world.undelivered_accountability().id}


def official_param(probe: Probe) -> dict[str, Any]:
    """The 问责决定书 issued on an undelivered case: not yet served on its cadre."""
    case_id = undelivered_param(probe)["case_id"]
    with probe.world.rt.db.reading() as session:
        found = session.execute(
            select(OfficialDocument.id).where(
                OfficialDocument.case_id == case_id,
                OfficialDocument.kind == kinds.ACCOUNTABILITY,
            )
        ).scalar_one()
    return {"official_id": found}


def failed_official_param(probe: Probe) -> dict[str, Any]:
    """That document as a failed conversion left it: no PDF, the failure kept."""
    found = official_param(probe)
    with probe.world.rt.transaction() as session:
        session.execute(
            update(OfficialDocument)
            .where(OfficialDocument.id == found["official_id"])
            .values(pdf_error="转换 PDF 超时（60 秒）")
        )
    return found


def generate_official(role: str, placement: str) -> Any:
    """公文 are (re)generated by the managing unit's discipline, organization and committee."""
    if not sees_case(role, placement):
        return 404
    return (
        "ok" if role in ("discipline", "organization", "committee") and placement == "own" else 403
    )


def read_unserved_official(role: str, placement: str) -> Any:
    """A document not yet served: the cadre sees nothing of it."""
    return 404 if role == "cadre" else read_case(role, placement)


def retry_official_pdf(role: str, placement: str) -> Any:
    """A failed PDF is converted again by whoever may generate the case's documents; the cadre
    sees no unserved document."""
    return 404 if role == "cadre" else generate_official(role, placement)


def attach_receipt(role: str, placement: str) -> Any:
    """The signed 送达回证: whoever may add material to the case (the managing unit's discipline
    and organization clerks; 送达 is organization's open task); the cadre sees no unserved document."""
    if role == "cadre" or not sees_case(role, placement):
        return 404
    return "ok" if role in ("discipline", "organization") and placement == "own" else 403


TEMPLATE = {"kind": kinds.ACCOUNTABILITY}

POLICY += [  # official documents (公文), their templates and the 文号 setting
    Row("GET", "/api/v1/cases/{case_id}/official-documents", read_case, params=case_param),
    Row(
        "POST",
        "/api/v1/cases/{case_id}/official-documents",
        generate_official,
        params=undelivered_param,
        body=lambda _p, _a: {"kind": kinds.RECEIPT},
    ),
    Row(
        "GET",
        "/api/v1/official-documents/{official_id}",
        read_unserved_official,
        params=official_param,
    ),
    Row(
        "POST",
        "/api/v1/official-documents/{official_id}/pdf",
        retry_official_pdf,
        params=failed_official_param,
        fresh=True,
    ),
    Row(
        "POST",
        "/api/v1/official-documents/{official_id}/receipts",
        attach_receipt,
        params=official_param,
        multipart=True,
        body=lambda _p, _a: {"file": (io.BytesIO(MATRIX_PDF), "送达回证.pdf")},
    ),
    Row("GET", "/api/v1/official-templates", only("admin", "designer")),
    Row(
        "POST",
        "/api/v1/official-templates/{kind}",
        only("admin", "designer"),
        params=lambda _p: TEMPLATE,
        multipart=True,
        body=lambda _p, _a: {
            "file": (io.BytesIO(templates.shipped(kinds.ACCOUNTABILITY).content), "模板.docx")
        },
    ),
    Row(
        "GET",
        "/api/v1/official-templates/{kind}/versions/{version}/content",
        only("admin", "designer"),
        params=lambda _p: {**TEMPLATE, "version": 1},
    ),
    Row(
        "GET",
        "/api/v1/official-templates/{kind}/preview",
        only("admin", "designer"),
        params=lambda _p: TEMPLATE,
    ),
    Row(
        "GET",
        "/api/v1/admin/official-numbering/{org_unit_code}",
        administer_object,
        params=lambda _p: {"org_unit_code": "ah-hf"},
    ),
    Row(
        "PUT",
        "/api/v1/admin/official-numbering/{org_unit_code}",
        administer_object,
        params=lambda _p: {"org_unit_code": "ah-hf"},
        body=lambda _p, _a: {"organ": "中共合肥市纪律检查委员会", "prefixes": {}},
    ),
]

#: Endpoints whose authorization is proven elsewhere, with where.
ELSEWHERE = {
    "POST /api/v1/auth/login": "anonymous by nature; tests/api/test_auth.py",
    "POST /api/v1/auth/logout": "ends only the caller's own session; tests/api/test_auth.py",
    "POST /api/v1/auth/tokens/{token_id}/revoke": "own tokens only; tests/api/test_auth.py",
}


def _matrix_world(rt: Runtime) -> World:
    world = make_world(rt)
    with rt.db.transaction() as session:
        for role in ROLES:
            if role != "cadre":
                org.add_user(
                    session,
                    hasher=HASHER,
                    username=f"{role}.ah",
                    display_name=f"{role} ah",
                    password="demo-pass-1",
                    role=role,
                    org_unit_code="ah",
                    clock=rt.clock,
                )
        for username, name, unit in (("wang", "王五", "ah-wh"), ("zhao", "赵六", "ah")):
            cadre = Cadre(name=name, post="某局局长", org_unit_code=unit, created_at=rt.clock.now())
            session.add(cadre)
            session.flush()
            org.add_user(
                session,
                hasher=HASHER,
                username=username,
                display_name=name,
                password="demo-pass-1",
                role="cadre",
                org_unit_code=unit,
                clock=rt.clock,
                cadre_id=cadre.id,
            )
    return world


def _call(probe: Probe, row: Row, username: str, params: dict[str, Any]) -> int:
    client, csrf = probe.client(username)
    url = row.path.format(**params) + row.query
    body = row.body(probe, params)
    if row.multipart:
        response = client.open(
            url,
            method=row.method,
            data=body,
            headers={"X-CSRF-Token": csrf},
            content_type="multipart/form-data",
        )
    else:
        response = client.open(url, method=row.method, json=body, headers={"X-CSRF-Token": csrf})
    return int(response.status_code)


def _outcome(status: int) -> Any:
    return "ok" if 200 <= status < 300 else status


@dataclass(frozen=True)
class _Matrix:
    """The matrix world as kept: its cadres and every user's session."""

    cadres: dict[str, int]
    logins: dict[str, tuple[str, str]]


def _logged_in(rt: Runtime, app: Flask) -> _Matrix:
    """The matrix world, with every user of the matrix logged in once."""
    world = _matrix_world(rt)
    logins = {}
    for role in ROLES:
        for placement in PLACEMENTS:
            username = _user(role, placement)
            client = app.test_client()
            response = client.post(
                "/api/v1/auth/login", json={"username": username, "password": "demo-pass-1"}
            )
            assert response.status_code == 200, (username, response.get_json())
            cookie = client.get_cookie(COOKIE)
            assert cookie is not None, username
            logins[username] = (cookie.value, response.get_json()["csrf_token"])
    return _Matrix(world.cadres, logins)


def _probe(rt: Runtime) -> Probe:
    """The matrix world and its sessions: built and logged in by the first test of a backend,
    restored (sessions included) for the others."""
    app = create_app(rt, TESTING=True)
    matrix = kept(rt, "authorization matrix", lambda: _logged_in(rt, app))
    return Probe(World(rt, matrix.cadres), app, matrix.logins)


@pytest.mark.parametrize("row", POLICY, ids=[r.id for r in POLICY])
def test_matrix(rt: Runtime, row: Row) -> None:
    """Each cell on the row's object: one object for the row, or (`fresh`) the object as just
    made, restored from a checkpoint before every cell after the first (same ids)."""
    probe = _probe(rt)
    params = row.params(probe)
    made = Checkpoint.take(rt) if row.fresh else None
    disagreements = []
    for cell, (role, placement) in enumerate(itertools.product(ROLES, PLACEMENTS)):
        if made is not None and cell > 0:
            made.restore(rt)
        got = _outcome(_call(probe, row, _user(role, placement), params))
        want = row.expect(role, placement)
        if got != want:
            disagreements.append(f"{role:>12} {placement:<8} expected {want}, got {got}")
    assert not disagreements, f"{row.id}:\n" + "\n".join(disagreements)


def test_every_endpoint_has_a_policy(rt: Runtime) -> None:
    spec = create_app(rt).test_client().get("/api/v1/openapi.json").get_json()
    documented = {
        f"{method.upper()} {path}"
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }
    covered = {row.id for row in POLICY} | set(ELSEWHERE)
    assert sorted(documented - covered) == []
    assert sorted(covered - documented) == []
