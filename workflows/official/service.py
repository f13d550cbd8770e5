"""Generating official documents, recording their service (送达) and their signed receipts.

- When a deciding step completes (a completion listener, inside its locked transaction) the
  case's document is rendered from the current template with a new 文号 and stored as 案件材料
  (DOCX, SHA-256, audited); a served kind gets its 送达回证 too. The rows are the step's
  effects (`official_document` is a recorded table), so a 退回 supersedes them with the
  decision they came from.
- On demand (`generate`), a case's document is rendered again from the current template:
  a new version with the same 文号 and the same context; the old version stays. A case with
  no document yet gets its first issue, written from its records.
- A 送达 step's completion records the day and manner of service of the document it served.
- The PDF is made outside the write transaction (`conversion.py`, `convert_pending`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases import service as cases
from workflows.cases.models import CaseFile, Decision
from workflows.documents import service as documents
from workflows.documents.models import CaseDocument
from workflows.engine import audit, hooks
from workflows.engine.clock import Clock
from workflows.engine.models import AuditEvent
from workflows.errors import Conflict, Forbidden, NotFound, ValidationFailed
from workflows.messages import t
from workflows.official import context, kinds, numbering, served, templates
from workflows.official.models import OfficialDocument, OfficialReceipt, OfficialService

log = logging.getLogger(__name__)
#: Who issues documents on demand: the managing unit's clerks and its committee.
ISSUERS = frozenset({"discipline", "organization", "committee"})


# -- issuing -----------------------------------------------------------------------------


def _latest(session: Session, case_id: int, kind: str) -> OfficialDocument | None:
    """The newest version of the newest issue in force of a kind on a case."""
    return session.execute(
        select(OfficialDocument)
        .where(
            OfficialDocument.case_id == case_id,
            OfficialDocument.kind == kind,
            served.issue_in_force(),
        )
        .order_by(OfficialDocument.issue.desc(), OfficialDocument.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def _next_issue(session: Session, case_id: int, kind: str) -> int:
    last = session.execute(
        select(func.max(OfficialDocument.issue)).where(
            OfficialDocument.case_id == case_id, OfficialDocument.kind == kind
        )
    ).scalar()
    return int(last or 0) + 1


def _store(
    session: Session,
    *,
    case: CaseFile,
    kind: kinds.Kind,
    issue: int,
    version: int,
    values: dict[str, Any],
    numbered: tuple[str, int, int] | None,
    decision_id: int | None,
    actor: str,
    clock: Clock,
    task_id: int | None,
) -> OfficialDocument:
    """Renders `values` into the kind's current template and keeps it: the DOCX as 案件材料 and
    the document row pointing at it; audited; flushes."""
    template = templates.current(session, kind.key)
    try:
        content = templates.render(template.content, values)
    except TemplateError as err:
        if template.version == 1:
            raise
        # An uploaded template that passed its checks but fails on this case's values: the
        # decision is not held up; the shipped template writes it and the audit row names the template used.
        log.warning(
            "%s template v%s failed on %s: %s", kind.key, template.version, case.number, err
        )
        template = templates.shipped(kind.key)
        content = templates.render(template.content, values)
    label = values["number"] or case.number
    now = clock.now()
    file = CaseDocument(
        case_id=case.id,
        task_id=task_id,
        filename=f"{kind.title}（{label}）第{version}版.docx",
        content_type=templates.DOCX_TYPE,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        title=kind.title,
        description=f"系统生成：{label}，第 {version} 版（模板第 {template.version} 版）",
        uploaded_by=actor,
        uploaded_at=now,
    )
    session.add(file)
    session.flush()
    prefix, year, seq = numbered if numbered else (None, None, None)
    row = OfficialDocument(
        case_id=case.id,
        kind=kind.key,
        issue=issue,
        version=version,
        number=values["number"] if numbered else None,
        org_unit_code=case.org_unit_code,
        prefix=prefix,
        year=year,
        seq=seq,
        decision_id=decision_id,
        template_version=template.version,
        template_sha256=template.sha256,
        context=json.dumps(values, ensure_ascii=False),
        docx_document_id=file.id,
        task_id=task_id,
        generated_by=actor,
        generated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="official_document.generate",
        object_type="official_document",
        object_id=row.id,
        instance_id=case.instance_id,
        detail={
            "case_id": case.id,
            "case_number": case.number,
            "kind": kind.key,
            "number": row.number,
            "issue": issue,
            "version": version,
            "template_version": template.version,
            "document_id": file.id,
            "sha256": file.sha256,
        },
    )
    return row


def issue(
    session: Session,
    *,
    case: CaseFile,
    kind: kinds.Kind,
    data: dict[str, Any],
    actor: str,
    clock: Clock,
    task_id: int | None = None,
) -> list[OfficialDocument]:
    """A new issue of the kind's document on the case, from its records, with the next 文号 of
    the case's unit (and, for a served kind, its 送达回证); [] when the case holds no record to
    write it from."""
    unit = numbering.of_unit(session, case.org_unit_code)
    months = int(
        data.get("appeal_window_months") or cases.deadline_settings(session)["appeal_window_months"]
    )
    built = context.of_case(
        session, kind=kind, case=case, data=data, organ=unit.organ, appeal_window_months=months
    )
    if built is None:
        return []
    values, decision = built
    issued_on: date = decision.decided_on if decision is not None else clock.today()
    prefix = unit.prefixes[kind.key]
    seq = numbering.allocate(
        session, org_unit_code=case.org_unit_code, prefix=prefix, year=issued_on.year
    )
    values |= {
        "number": numbering.number_for(prefix, issued_on.year, seq),
        "organ": unit.organ,
        "date_cn": context.date_cn(issued_on),
        "copy_to": unit.copy_to,
    }
    rows = [
        _store(
            session,
            kind=kind,
            issue=_next_issue(session, case.id, kind.key),
            version=1,
            values=values,
            numbered=(prefix, issued_on.year, seq),
            decision_id=decision.id if decision is not None else None,
            case=case,
            actor=actor,
            clock=clock,
            task_id=task_id,
        )
    ]
    if kind.served:
        receipt = kinds.KINDS[kinds.RECEIPT]
        rows.append(
            _store(
                session,
                kind=receipt,
                issue=_next_issue(session, case.id, receipt.key),
                version=1,
                values=context.receipt(values),
                numbered=None,
                decision_id=rows[0].decision_id,
                case=case,
                actor=actor,
                clock=clock,
                task_id=task_id,
            )
        )
    return rows


@hooks.after_any_completion
def _on_completion(context_: hooks.ActionContext) -> None:
    """A deciding step issues its document (and a step that sets new terms, a new issue of
    it); a 送达 step records the service of it."""
    action = context_.properties.get("action")
    kind = kinds.BY_ACTION.get(action or "")
    if action in kinds.REISSUING_ACTIONS:
        field, value, key = kinds.REISSUING_ACTIONS[action]
        kind = kinds.KINDS[key] if context_.data.get(field) == value else None
    if kind is not None:
        issue(
            context_.session,
            case=cases.of_context(context_),
            kind=kind,
            data=context_.data,
            actor=context_.actor,
            clock=context_.clock,
            task_id=context_.task_id,
        )
    elif action in kinds.SERVING_ACTIONS:
        _record_service(context_, *kinds.SERVING_ACTIONS[action])


def _record_service(context_: hooks.ActionContext, day: str, manner: str, note: str) -> None:
    case = cases.of_context(context_)
    kind = kinds.BY_CASE_KIND.get(case.kind)
    served = _latest(context_.session, case.id, kind.key) if kind else None
    if served is None:
        return
    data = context_.data
    manner_key = data.get(manner)
    row = OfficialService(
        official_document_id=served.id,
        served_on=cases.parse_date(data.get(day), day),
        manner=manner_key if manner_key in kinds.MANNERS else None,
        note=str(data.get(note) or "").strip() or None,
        task_id=context_.task_id,
        recorded_by=context_.actor,
        recorded_at=context_.clock.now(),
    )
    context_.session.add(row)
    context_.session.flush()
    audit.record(
        context_.session,
        at=row.recorded_at,
        actor=context_.actor,
        action="official_document.serve",
        object_type="official_document",
        object_id=served.id,
        instance_id=case.instance_id,
        detail={
            "case_id": case.id,
            "kind": served.kind,
            "number": served.number,
            "version": served.version,
            "served_on": row.served_on.isoformat(),
            "manner": row.manner,
        },
    )


# -- on demand ---------------------------------------------------------------------------


def may_issue(principal: Principal, case: CaseFile) -> bool:
    """The managing unit's clerks and committee issue its documents (not on their own case)."""
    return (
        principal.role in ISSUERS
        and principal.org_unit == case.org_unit_code
        and not (principal.cadre_id is not None and principal.cadre_id == case.cadre_id)
    )


def _process_data(session: Session, case: CaseFile, clock: Clock) -> dict[str, Any]:
    """What the case's steps were completed with (the audit trail, oldest first merged) and what
    its waiting steps carry: the facts a first issue on demand is written from."""
    data: dict[str, Any] = {}
    if case.instance_id is None:
        return data
    for detail in session.execute(
        select(AuditEvent.detail)
        .where(AuditEvent.instance_id == case.instance_id, AuditEvent.action == "task.complete")
        .order_by(AuditEvent.id)
    ).scalars():
        submitted = json.loads(detail).get("data")
        if isinstance(submitted, dict):
            data |= submitted
    return data | cases.waiting_data(session, case, clock)


def generate(
    session: Session, *, principal: Principal, case_id: int, kind: str, clock: Clock
) -> OfficialDocument:
    """(Re)generates a kind's document on a case: a new version of its latest issue in force,
    rendered from the current template with the same 文号 and context, or the first issue when
    there is none. NotFound for a case out of sight, Forbidden for anyone but its unit's
    clerks and committee, ValidationFailed on `kind` for a kind the case does not issue,
    Conflict when the case has no decision to write it from."""
    case = access.get_case(session, principal, case_id)
    if not may_issue(principal, case):
        raise Forbidden(
            t(
                "只有案件管辖单位 %(org_unit_code)s 的纪检监察机关、组织部门和党委（党组）"
                "可以生成公文：%(username)s 不能",
                org_unit_code=case.org_unit_code,
                username=principal.username,
            )
        )
    found = kinds.KINDS.get(kind)
    own = kinds.BY_CASE_KIND.get(case.kind)
    allowed = [own.key] + ([kinds.RECEIPT] if own.served else []) if own else []
    if found is None or found.key not in allowed:
        message = (
            t(
                "案件 %(number)s 可生成的文书为 %(kinds)s：不能生成 %(kind)r",
                number=case.number,
                kinds="、".join(allowed),
                kind=kind,
            )
            if allowed
            else t("案件 %(number)s 不制发公文", number=case.number)
        )
        raise ValidationFailed(message, [{"field": "kind", "message": message}])
    latest = _latest(session, case.id, found.key)
    if latest is not None:
        return _store(
            session,
            case=case,
            kind=found,
            issue=latest.issue,
            version=_next_version(session, latest),
            values=json.loads(latest.context),
            numbered=_numbered(latest),
            decision_id=latest.decision_id,
            actor=principal.username,
            clock=clock,
            task_id=None,
        )
    if found.key == kinds.RECEIPT:
        raise Conflict(
            t(
                "案件 %(number)s 尚无可送达的文书：请先生成%(value)s",
                number=case.number,
                value=own.title if own else "文书",
            )
        )
    rows = issue(
        session,
        case=case,
        kind=found,
        data=_process_data(session, case, clock),
        actor=principal.username,
        clock=clock,
    )
    if not rows:
        raise Conflict(
            t(
                "案件 %(number)s 尚未作出%(title)s所载的决定，不能生成",
                number=case.number,
                title=found.title,
            )
        )
    return rows[0]


def _numbered(found: OfficialDocument) -> tuple[str, int, int] | None:
    if found.prefix is None or found.year is None or found.seq is None:
        return None
    return found.prefix, found.year, found.seq


def _next_version(session: Session, latest: OfficialDocument) -> int:
    last = session.execute(
        select(func.max(OfficialDocument.version)).where(
            OfficialDocument.case_id == latest.case_id,
            OfficialDocument.kind == latest.kind,
            OfficialDocument.issue == latest.issue,
        )
    ).scalar()
    return int(last or 0) + 1


# -- receipts ----------------------------------------------------------------------------


def get(session: Session, *, principal: Principal, official_id: int) -> OfficialDocument:
    """A document of a case the principal reads (a cadre: one served on them); NotFound else."""
    found = session.get(OfficialDocument, official_id) if 0 < official_id <= access.MAX_ID else None
    if found is None:
        raise NotFound(t("公文 %(official_id)s 不存在", official_id=official_id))
    try:
        access.get_case_to_read(session, principal, found.case_id)
    except NotFound:
        raise NotFound(t("公文 %(official_id)s 不存在", official_id=official_id)) from None
    if principal.role == "cadre" and found.docx_document_id in served.hidden_files(
        session, found.case_id
    ):
        raise NotFound(t("公文 %(official_id)s 不存在", official_id=official_id))
    return found


def attach_receipt(
    session: Session,
    *,
    principal: Principal,
    official_id: int,
    filename: str | None,
    content: bytes | None,
    clock: Clock,
) -> OfficialReceipt:
    """The signed 送达回证 of a served document, uploaded as 案件材料 by whoever may add material
    to the case (the rules of `documents.add`) and linked to the document; audited; flushes."""
    found = get(session, principal=principal, official_id=official_id)
    if not kinds.KINDS[found.kind].served and found.kind != kinds.RECEIPT:
        message = t("%(title)s不需要送达回证", title=kinds.KINDS[found.kind].title)
        raise ValidationFailed(message, [{"field": "official_document_id", "message": message}])
    if principal.role == "cadre":
        raise Forbidden(t("签收的送达回证由送达人上传"))
    file = documents.add(
        session,
        principal=principal,
        case_id=found.case_id,
        filename=filename,
        content=content,
        clock=clock,
        title="送达回证（已签收）",
        description=f"{kinds.KINDS[found.kind].title}{found.number or ''}的签收回证",
    )
    row = OfficialReceipt(
        official_document_id=found.id,
        document_id=file.id,
        recorded_by=principal.username,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=row.recorded_at,
        actor=principal.username,
        action="official_document.receipt",
        object_type="official_document",
        object_id=found.id,
        detail={"case_id": found.case_id, "document_id": file.id, "number": found.number},
    )
    return row


def decision_of(session: Session, found: OfficialDocument) -> Decision | None:
    return session.get(Decision, found.decision_id) if found.decision_id else None
