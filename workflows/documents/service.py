"""Adding, listing, downloading and withdrawing (撤回) the documents of a case.

Who may do what (DOMAIN.md §1; out of sight reads as missing, NotFound, as everywhere):

| who                                                            | list, read, download | add | withdraw            |
|----------------------------------------------------------------|----------------------|-----|---------------------|
| anyone who may see the case (`access.get_case`)                | yes                  | —   | —                   |
| discipline and organization clerks of the case's managing unit | yes                  | yes | any document        |
| a role with an open task of the case, in that task's org unit  | yes                  | yes | their own documents |
| the cadre concerned (their own case)                           | yes                  | yes | their own documents |
| anyone else who sees the case (supervisors, admins, others)    | yes                  | no  | no                  |

A cadre never sees a generated official document (公文) that was not served on them
(`workflows.official.served`): it reads as missing.

Recusal (回避): an official who is themselves the case's cadre acts on it only as the cadre.
A closed case (已结案) takes no new documents and no withdrawals (Conflict). A document is
never changed; a withdrawal is a row of its own, and the document stays listed, marked.
Every add and withdrawal is audited in the caller's transaction; functions only flush.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases import served
from workflows.cases.models import Appeal, CaseFile
from workflows.documents import formats
from workflows.documents.models import CaseDocument, DocumentWithdrawal
from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask
from workflows.errors import Conflict, Forbidden, NotFound, ValidationFailed
from workflows.messages import t
from workflows.official import served as official_served
from workflows.org import people
from workflows.roles import ROLES

#: The largest file a case takes (bytes).
MAX_BYTES = 10 * 1024 * 1024
FILENAME_MAX = 200
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
REASON_MAX = 1000
#: The managing unit's roles that keep a case's file: they register and handle cases (§2).
KEEPERS = frozenset({"discipline", "organization"})


@dataclass(frozen=True)
class Listed:
    """A document as lists show it: the step it was added on, its withdrawal if any, and
    whether the asker may withdraw it."""

    document: CaseDocument
    case_number: str
    task_name: str | None
    withdrawal: DocumentWithdrawal | None
    may_withdraw: bool
    uploaded_by_name: str = ""  # 姓名（单位·岗位）; for a cadre, the organ (or 本人)
    withdrawn_by_name: str | None = None
    #: who added it and who withdrew it, by username — for a cadre only their own, else ""
    #: (a cadre never sees other people's login names, DOMAIN.md §6)
    uploader: str = ""
    withdrawer: str | None = None


@dataclass(frozen=True)
class Download:
    filename: str
    content_type: str  # one of formats.CONTENT_TYPES, else application/octet-stream
    content: bytes
    sha256: str


# -- reading -----------------------------------------------------------------------------


def documents_of(session: Session, *, principal: Principal, case_id: int) -> list[Listed]:
    """The documents of a case the principal sees (NotFound otherwise), oldest first, withdrawn
    ones included and marked."""
    case = access.get_case_to_read(session, principal, case_id)
    rows = session.execute(
        select(CaseDocument, DocumentWithdrawal, HumanTask.name)
        .outerjoin(DocumentWithdrawal, DocumentWithdrawal.document_id == CaseDocument.id)
        .outerjoin(HumanTask, HumanTask.id == CaseDocument.task_id)
        .where(CaseDocument.case_id == case.id)
        .order_by(CaseDocument.id)
    ).all()
    if principal.role == "cadre":
        hidden = official_served.hidden_files(session, case.id)
        rows = [row for row in rows if row[0].id not in hidden]
    conflicted = _appeal_conflict(session, principal, case) is not None
    names = _names(
        session,
        principal,
        case,
        [
            *(document.uploaded_by for document, _w, _t in rows),
            *(withdrawal.withdrawn_by for _d, withdrawal, _t in rows if withdrawal is not None),
        ],
    )
    return [
        _listed(principal, case, document, withdrawal, task_name, conflicted, names)
        for document, withdrawal, task_name in rows
    ]


def document(session: Session, *, principal: Principal, document_id: int) -> Listed:
    """One document of a case the principal sees; NotFound otherwise, as if it did not exist."""
    found, case = _visible(session, principal, document_id)
    withdrawal = session.get(DocumentWithdrawal, found.id)
    task_name = (
        session.execute(select(HumanTask.name).where(HumanTask.id == found.task_id)).scalar()
        if found.task_id is not None
        else None
    )
    return _listed(
        principal,
        case,
        found,
        withdrawal,
        task_name,
        _appeal_conflict(session, principal, case) is not None,
        _names(
            session,
            principal,
            case,
            [found.uploaded_by, *([withdrawal.withdrawn_by] if withdrawal else [])],
        ),
    )


def download(
    session: Session, *, principal: Principal, document_id: int, clock: Clock, record: bool = True
) -> Download:
    """The bytes of a document of a case the principal sees (withdrawn ones too: the record
    stays), served as its stored type only if that type is an accepted one. Audited unless
    `record` is false (a HEAD request: no content leaves): who read which case's material is
    on the record (the audit log, not the case's timeline)."""
    found, case = _visible(session, principal, document_id)
    if record:
        audit.record(
            session,
            at=clock.now(),
            actor=principal.username,
            action="document.download",
            object_type="document",
            object_id=found.id,
            detail={
                "case_id": case.id,
                "case_number": case.number,
                "filename": found.filename,
                "sha256": found.sha256,
            },
        )
    content_type = (
        found.content_type
        if found.content_type in formats.CONTENT_TYPES
        else "application/octet-stream"
    )
    return Download(
        filename=found.filename,
        content_type=content_type,
        content=found.content,
        sha256=found.sha256,
    )


def may_add(session: Session, principal: Principal, case: CaseFile) -> bool:
    """Whether the principal works on the case and may add documents to it while it is open."""
    return case.status != "closed" and _refusal(session, principal, case) is None


# -- writing -----------------------------------------------------------------------------


def add(
    session: Session,
    *,
    principal: Principal,
    case_id: int,
    filename: str | None,
    content: bytes | None,
    clock: Clock,
    title: str | None = None,
    description: str | None = None,
    task_id: int | None = None,
) -> CaseDocument:
    """A new document on a case the principal sees (NotFound) and works on (Forbidden), while
    the case is not closed (Conflict), of an accepted kind and size (ValidationFailed naming
    the field); audited; flushes. `content` holds at most MAX_BYTES + 1 bytes of the upload."""
    case = access.get_case(session, principal, case_id)
    refusal = _refusal(session, principal, case)
    if refusal:
        raise Forbidden(refusal)
    case = _locked(session, case)
    if case.status == "closed":
        raise Conflict(t("案件 %(number)s 已结案，不能再添加材料", number=case.number))
    name, fmt = _checked_file(filename, content)
    data = content or b""
    title_text = _optional_text(title, field="title", limit=TITLE_MAX, what="标题")
    description_text = _optional_text(
        description, field="description", limit=DESCRIPTION_MAX, what="说明"
    )
    task = _task_of(session, principal, case, task_id) if task_id is not None else None
    row = CaseDocument(
        case_id=case.id,
        task_id=task.id if task else None,
        filename=name,
        content_type=fmt.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        title=title_text,
        description=description_text,
        uploaded_by=principal.username,
        uploaded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=row.uploaded_at,
        actor=principal.username,
        action="document.add",
        object_type="document",
        object_id=row.id,
        instance_id=case.instance_id,
        detail={
            "case_id": case.id,
            "case_number": case.number,
            "filename": name,
            "content_type": row.content_type,
            "size": row.size,
            "sha256": row.sha256,
            "title": title_text,
            "task_id": row.task_id,
            "task": task.task_spec if task else None,
        },
    )
    return row


def withdraw(
    session: Session, *, principal: Principal, document_id: int, reason: str, clock: Clock
) -> DocumentWithdrawal:
    """撤回 a document of a case the principal sees (NotFound): by the managing unit's clerks,
    or by whoever added it (Forbidden otherwise), once (Conflict), while the case is not closed
    (Conflict), with a reason (ValidationFailed); the document stays; audited; flushes."""
    found, case = _visible(session, principal, document_id)
    conflict = _appeal_conflict(session, principal, case)
    if conflict:
        raise Forbidden(conflict)
    if not _may_withdraw(principal, case, found):
        raise Forbidden(
            t(
                "材料「%(filename)s」由 %(uploaded_by)s 添加：只有添加人或案件管辖单位"
                " %(org_unit_code)s 的纪检监察机关、组织部门可以撤回",
                filename=found.filename,
                uploaded_by=found.uploaded_by,
                org_unit_code=case.org_unit_code,
            )
        )
    case = _locked(session, case)
    earlier = session.get(DocumentWithdrawal, found.id, populate_existing=True)
    if earlier is not None:
        raise Conflict(
            t(
                "材料「%(filename)s」已由 %(withdrawn_by)s 撤回",
                filename=found.filename,
                withdrawn_by=earlier.withdrawn_by,
            )
        )
    if case.status == "closed":
        raise Conflict(t("案件 %(number)s 已结案，材料不能再撤回", number=case.number))
    text = (reason or "").strip()
    if not text or len(text) > REASON_MAX or "\x00" in text:
        message = t("请说明撤回理由（1–%(limit)s 个字）", limit=REASON_MAX)
        raise ValidationFailed(message, [{"field": "reason", "message": message}])
    row = DocumentWithdrawal(
        document_id=found.id, withdrawn_by=principal.username, withdrawn_at=clock.now(), reason=text
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=row.withdrawn_at,
        actor=principal.username,
        action="document.withdraw",
        object_type="document",
        object_id=found.id,
        instance_id=case.instance_id,
        detail={
            "case_id": case.id,
            "case_number": case.number,
            "filename": found.filename,
            "reason": text,
        },
    )
    return row


# -- rules -------------------------------------------------------------------------------


def _visible(
    session: Session, principal: Principal, document_id: int
) -> tuple[CaseDocument, CaseFile]:
    if not 0 < document_id <= access.MAX_ID:
        raise NotFound(t("材料 %(document_id)s 不存在", document_id=document_id))
    found = session.get(CaseDocument, document_id)
    if found is None:
        raise NotFound(t("材料 %(document_id)s 不存在", document_id=document_id))
    try:
        case = access.get_case_to_read(session, principal, found.case_id)
    except NotFound:
        raise NotFound(t("材料 %(document_id)s 不存在", document_id=document_id)) from None
    if principal.role == "cadre" and found.id in official_served.hidden_files(session, case.id):
        raise NotFound(t("材料 %(document_id)s 不存在", document_id=document_id))
    return found, case


def _listed(
    principal: Principal,
    case: CaseFile,
    found: CaseDocument,
    withdrawal: DocumentWithdrawal | None,
    task_name: str | None,
    conflicted: bool,
    names: Mapping[str, str],
) -> Listed:
    cadre = principal.role == "cadre"

    def login(username: str) -> str:
        return username if not cadre or username == principal.username else ""

    return Listed(
        document=found,
        case_number=case.number,
        task_name=None if cadre else task_name,  # a cadre sees no internal step
        withdrawal=withdrawal,
        may_withdraw=(
            withdrawal is None
            and case.status != "closed"
            and not conflicted
            and _may_withdraw(principal, case, found)
        ),
        uploaded_by_name=names.get(found.uploaded_by, found.uploaded_by),
        withdrawn_by_name=(
            names.get(withdrawal.withdrawn_by, withdrawal.withdrawn_by) if withdrawal else None
        ),
        uploader=login(found.uploaded_by),
        withdrawer=login(withdrawal.withdrawn_by) if withdrawal else None,
    )


def _names(
    session: Session, principal: Principal, case: CaseFile, usernames: list[str]
) -> Mapping[str, str]:
    """How the principal reads these people: 姓名（单位·岗位）; a cadre reads the organs they
    act for (合肥市纪委监委), and 本人 for themself."""
    if principal.role != "cadre":
        return people.labels(session, usernames)
    organs = served.organ_names(session, usernames, fallback_unit=case.org_unit_code)
    return {**organs, principal.username: "本人"}


def _recused(principal: Principal, case: CaseFile) -> bool:
    """An official who is the case's own cadre: they act on it only as the cadre (回避)."""
    return (
        principal.role != "cadre"
        and principal.cadre_id is not None
        and case.cadre_id == principal.cadre_id
    )


def _refusal(session: Session, principal: Principal, case: CaseFile) -> str | None:
    """Why the principal may not add documents to the case, or None if they may."""
    who = f"{principal.username}（{principal.org_unit} 的{ROLES.get(principal.role, principal.role)}人员）"
    if principal.role == "cadre":
        if principal.cadre_id is not None and case.cadre_id == principal.cadre_id:
            return None
        return t("干部本人只能为本人的案件添加材料：%(who)s", who=who)
    if _recused(principal, case):
        return t(
            "回避：%(username)s 是案件 %(number)s 的当事干部，只能以干部本人身份添加材料",
            username=principal.username,
            number=case.number,
        )
    conflict = _appeal_conflict(session, principal, case)
    if conflict:
        return conflict
    if principal.role in KEEPERS and principal.org_unit == case.org_unit_code:
        return None
    if (
        case.instance_id is not None
        and session.execute(
            select(HumanTask.id)
            .where(
                HumanTask.instance_id == case.instance_id,
                HumanTask.state == "open",
                HumanTask.role == principal.role,
                HumanTask.org_unit == principal.org_unit,
            )
            .limit(1)
        ).first()
    ):
        return None
    return t(
        "只有办理本案的人员可以添加材料（管辖单位 %(org_unit_code)s 的纪检监察机关、组织部门，"
        "本案待办所在岗位的人员，当事干部本人）：%(who)s",
        org_unit_code=case.org_unit_code,
        who=who,
    )


def _appeal_conflict(session: Session, principal: Principal, case: CaseFile) -> str | None:
    """回避 on an appeal case: whoever handled or decided the original case keeps out of the
    appeal's file as of its tasks (the appealing cadre is not an official here)."""
    if principal.role == "cadre":
        return None
    original_id = session.execute(
        select(Appeal.original_case_id).where(Appeal.case_id == case.id)
    ).scalar()
    original = access.appeal_conflict(session, principal, original_id)
    if original is None:
        return None
    return t(
        "回避：%(username)s 办理或决定过原案件 %(original)s，不得为其申诉案件 %(number)s 添加或撤回材料",
        username=principal.username,
        original=original,
        number=case.number,
    )


def _may_withdraw(principal: Principal, case: CaseFile, found: CaseDocument) -> bool:
    if _recused(principal, case):
        return False
    if principal.role in KEEPERS and principal.org_unit == case.org_unit_code:
        return True
    return found.uploaded_by == principal.username


def _locked(session: Session, case: CaseFile) -> CaseFile:
    """The case row again, locked (PostgreSQL), so a case being closed meanwhile is seen closed."""
    return session.execute(
        select(CaseFile)
        .where(CaseFile.id == case.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "message": message}])


def _checked_file(filename: str | None, content: bytes | None) -> tuple[str, formats.Format]:
    """The file's name (its last path part, NFC) and kind, or ValidationFailed on `file`."""
    if content is None:
        raise _refuse("file", t("请选择要上传的文件"))
    name = unicodedata.normalize(
        "NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    )
    if not name:
        raise _refuse("file", t("文件名不能为空"))
    if len(name) > FILENAME_MAX:
        raise _refuse(
            "file",
            t(
                "文件名不能超过 %(FILENAME_MAX)s 个字（现有 %(count)s 个）",
                FILENAME_MAX=FILENAME_MAX,
                count=len(name),
            ),
        )
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise _refuse("file", t("文件名不能包含控制字符"))
    if not content:
        raise _refuse("file", t("文件「%(name)s」是空的（0 字节）", name=name))
    if len(content) > MAX_BYTES:
        raise _refuse(
            "file",
            t(
                "文件「%(name)s」超过 %(value)s MB：单个材料不能超过 %(value)s MB",
                name=name,
                value=MAX_BYTES // (1024 * 1024),
            ),
        )
    ext = formats.extension(name)
    fmt = formats.FORMATS.get(ext)
    if fmt is None:
        kind = f" {ext} 文件" if ext else "没有扩展名的文件"
        raise _refuse(
            "file",
            t(
                "不接受%(kind)s「%(name)s」：可上传 %(ACCEPTED)s",
                kind=kind,
                name=name,
                ACCEPTED=formats.ACCEPTED,
            ),
        )
    if not formats.matches(fmt, content):
        if formats.is_executable(content):
            raise _refuse(
                "file",
                t(
                    "文件「%(name)s」的内容是可执行程序，不是%(name2)s文件：不能上传",
                    name=name,
                    name2=fmt.name,
                ),
            )
        raise _refuse(
            "file",
            t(
                "文件「%(name)s」的内容与扩展名 %(ext)s 不符：不是有效的%(name2)s文件",
                name=name,
                ext=ext,
                name2=fmt.name,
            ),
        )
    return name, fmt


def _optional_text(value: str | None, *, field: str, limit: int, what: str) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise _refuse(field, t("%(what)s不能超过 %(limit)s 个字", what=what, limit=limit))
    if "\x00" in text:
        raise _refuse(field, t("%(what)s不能包含空字符", what=what))
    return text or None


def _task_of(session: Session, principal: Principal, case: CaseFile, task_id: int) -> HumanTask:
    """A task of this case the principal sees; ValidationFailed on task_id for any other."""
    task = None
    if 0 < task_id <= access.MAX_ID and case.instance_id is not None:
        task = session.execute(
            select(HumanTask).where(
                HumanTask.id == task_id,
                HumanTask.instance_id == case.instance_id,
                access.task_scope(principal),
            )
        ).scalar_one_or_none()
    if task is None:
        raise _refuse(
            "task_id",
            t(
                "案件 %(number)s 没有这个环节（任务 %(task_id)s）",
                number=case.number,
                task_id=task_id,
            ),
        )
    return task
