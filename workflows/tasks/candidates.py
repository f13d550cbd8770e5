"""Whom a step may go to (DOMAIN.md §6: people are chosen from a list of eligible colleagues,
never by typing a login name): the colleagues a task may be delegated (委派) or transferred
(转办) to, and the reviewers an appeal's acceptance may name (复核人).

Each list applies the rule its write applies, by the same function: `service.target_refusal`
for a reassignment (role, unit, recusal; not oneself, not its holder) and
`appeal.reviewer_refusal` for a reviewer (the review's role in the case's unit, neither the
cadre nor anyone who handled or decided the original case). The lists are for people who may
make the choice: asking for them on a task one may not reassign or complete is refused as the
write would be.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access, textsearch
from workflows.access import Principal
from workflows.cases import appeal
from workflows.cases.models import CaseFile
from workflows.engine import versions
from workflows.engine.models import HumanTask, Instance, ProcessVersion
from workflows.errors import DomainError, NotFound, ValidationFailed
from workflows.messages import t
from workflows.org import people
from workflows.org.models import OrgUnit, User
from workflows.tasks import service as work

DELEGATE, TRANSFER, REVIEWER = "delegate", "transfer", "reviewer"
#: What a list is for, and the verb its messages use.
PURPOSES = {DELEGATE: "委派", TRANSFER: "转办", REVIEWER: "指定复核人"}
#: The action of the step that names an appeal's reviewer (bpmn/appeal.bpmn).
REVIEWER_ACTION = "appeal_accept"
#: At most this many are listed; a search (`text`) narrows a longer list.
LIMIT = 200


def candidates(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    purpose: str,
    text: str | None = None,
    limit: int = LIMIT,
) -> list[people.Person]:
    """The people the principal may choose for `purpose` on the open task, by 姓名, narrowed by
    `text` (姓名 or username). NotFound for a task out of sight; the write's refusal when the
    principal may not make the choice; ValidationFailed on `purpose` for an unknown purpose or
    one the task does not have."""
    if purpose not in PURPOSES:
        message = t(
            "用途应为 %(purposes)s 之一（委派、转办、指定复核人）", purposes="、".join(PURPOSES)
        )
        raise ValidationFailed(message, [{"field": "purpose", "message": message}])
    task = access.get_task(session, principal, task_id)
    if task.state != "open":
        return []
    if purpose == REVIEWER:
        return _reviewers(session, principal, task, text, limit)
    return _colleagues(session, principal, task, purpose, text, limit)


def _colleagues(
    session: Session,
    principal: Principal,
    task: HumanTask,
    purpose: str,
    text: str | None,
    limit: int,
) -> list[people.Person]:
    verb = PURPOSES[purpose]
    properties = _properties(session, task)
    fixed = work.is_fixed(task, properties)
    free = not task.assignee and principal.username != task.owner
    refused: DomainError | None = (
        access.work_refusal(session, principal, _facts(session, task)) if free else None
    )
    refused = work.reassign_refusal(principal, task, verb=verb, work=refused, fixed=fixed)
    if refused is not None:
        raise refused
    facts = _facts(session, task)
    query = select(User, OrgUnit.name).outerjoin(OrgUnit, OrgUnit.code == User.org_unit_code)
    query = query.where(
        User.role == task.role, User.org_unit_code == task.org_unit, User.active.is_(True)
    )
    narrowed = textsearch.matching(text, User.display_name, User.username)
    if narrowed is not None:
        query = query.where(narrowed)
    found = []
    for user, unit_name in session.execute(query.order_by(User.display_name, User.username)):
        target = access.principal_of(session, user)
        if work.target_refusal(session, principal, facts, target, verb=verb) is None:
            found.append(people.person_of(user, unit_name))
            if len(found) >= limit:
                break
    return found


def _reviewers(
    session: Session, principal: Principal, task: HumanTask, text: str | None, limit: int
) -> list[people.Person]:
    properties = _properties(session, task)
    if properties.get("action") != REVIEWER_ACTION:
        message = t("任务「%(name)s」不指定复核人", name=task.name)
        raise ValidationFailed(message, [{"field": "purpose", "message": message}])
    refused = access.work_refusal(session, principal, _facts(session, task), ignore_assignment=True)
    if refused is not None:
        raise refused
    case = session.execute(
        select(CaseFile).where(CaseFile.instance_id == task.instance_id)
    ).scalar_one()
    role = properties.get("reviewerRole", appeal.REVIEWER_ROLE)
    found = appeal.reviewer_candidates(session, case=case, role=role, text=text, limit=limit)
    named = people.people(session, (user.username for user in found))
    return [named[user.username] for user in found if user.username in named]


def _facts(session: Session, task: HumanTask) -> access.TaskFacts:
    facts = access.task_facts(session, task.id)
    if facts is None:
        raise NotFound(t("任务 %(task_id)s 不存在", task_id=task.id))
    return facts


def _properties(session: Session, task: HumanTask) -> dict[str, str]:
    version_id, content_hash = session.execute(
        select(Instance.process_version_id, ProcessVersion.content_hash)
        .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
        .where(Instance.id == task.instance_id)
    ).one()
    return versions.load(session, version_id, content_hash).properties(task.task_spec)
