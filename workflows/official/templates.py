"""The DOCX templates of official documents: the shipped defaults (version 1 of each kind),
versions uploaded by administrators and designers, the checks an upload passes, and rendering.

An upload is refused (ValidationFailed on `file`, naming the problem) unless it is a DOCX,
its Jinja syntax parses, every placeholder it uses is a name of `context.KNOWN`, and it
renders a sample case. Rendering runs in Jinja's sandbox. Versions are never changed or
deleted: the latest is current.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows.access import Principal
from workflows.documents import formats
from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.errors import Conflict, Forbidden, NotFound, ValidationFailed
from workflows.messages import t
from workflows.official import context, conversion, kinds
from workflows.official.models import OfficialTemplate

SHIPPED = Path(__file__).parent / "templates"
#: The roles that manage templates (DOMAIN.md §7: "templates administrators can replace").
MANAGERS = frozenset({"admin", "designer"})
MAX_BYTES = 5 * 1024 * 1024
#: The most a template's parts may unpack to: a small file that unpacks to gigabytes is refused.
MAX_UNPACKED = 50 * 1024 * 1024
NOTE_MAX = 500
_DOCX = formats.FORMATS[".docx"]
DOCX_TYPE = _DOCX.content_type


@dataclass(frozen=True)
class Version:
    """One version of a kind's template: the shipped one (version 1, uploaded_by None) or an
    upload."""

    kind: str
    version: int
    filename: str
    sha256: str
    note: str | None
    uploaded_by: str | None
    uploaded_at: datetime | None
    content: bytes


def _kind(key: str) -> kinds.Kind:
    found = kinds.KINDS.get(key)
    if found is None:
        raise NotFound(
            t("没有这种文书：%(key)s；可为 %(choices)s", key=key, choices="、".join(kinds.KINDS))
        )
    return found


def shipped(key: str) -> Version:
    content = (SHIPPED / f"{key}.docx").read_bytes()
    return Version(
        kind=key,
        version=1,
        filename=f"{_kind(key).title}.docx",
        sha256=hashlib.sha256(content).hexdigest(),
        note="系统自带模板",
        uploaded_by=None,
        uploaded_at=None,
        content=content,
    )


def _version(row: OfficialTemplate) -> Version:
    return Version(
        kind=row.kind,
        version=row.version,
        filename=row.filename,
        sha256=row.sha256,
        note=row.note,
        uploaded_by=row.uploaded_by,
        uploaded_at=row.uploaded_at,
        content=row.content,
    )


def current(session: Session, key: str) -> Version:
    """The template documents of this kind are rendered from now."""
    _kind(key)
    row = session.execute(
        select(OfficialTemplate)
        .where(OfficialTemplate.kind == key)
        .order_by(OfficialTemplate.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    return shipped(key) if row is None else _version(row)


def versions(session: Session, key: str) -> list[Version]:
    """Every version of a kind's template, newest first (the shipped one last)."""
    _kind(key)
    rows = session.execute(
        select(OfficialTemplate)
        .where(OfficialTemplate.kind == key)
        .order_by(OfficialTemplate.version.desc())
    ).scalars()
    return [*(_version(row) for row in rows), shipped(key)]


def version(session: Session, key: str, number: int) -> Version:
    for found in versions(session, key):
        if found.version == number:
            return found
    raise NotFound(t("%(title)s模板没有第 %(number)s 版", title=_kind(key).title, number=number))


def _sandbox() -> SandboxedEnvironment:
    """Templates are uploaded by people: Jinja's sandbox keeps them to reading the values they
    are given (no attribute walk to Python's internals), autoescaped so text stays text."""
    return SandboxedEnvironment(autoescape=True)


def render(template: bytes, values: dict[str, Any]) -> bytes:
    """The DOCX `template` filled with `values`, in the sandbox."""
    document = DocxTemplate(io.BytesIO(template))
    document.render(values, jinja_env=_sandbox(), autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


#: Previews already made, by kind and template hash, the most recent last. The sample case is
#: fixed, so a version's preview never changes; LibreOffice takes seconds to make one, and a
#: designer looks at the same version again and again.
_PREVIEWS: OrderedDict[tuple[str, str], bytes] = OrderedDict()
PREVIEWS_KEPT = 16
_PREVIEWS_LOCK = threading.Lock()


def preview(found: Version) -> bytes:
    """The PDF of `found` filled with the sample case; conversion.ConversionFailed when the
    converter fails (a failure is not kept: the next preview tries again)."""
    key = (found.kind, found.sha256)
    with _PREVIEWS_LOCK:
        made = _PREVIEWS.get(key)
        if made is not None:
            _PREVIEWS.move_to_end(key)
            return made
    made = conversion.to_pdf(render(found.content, context.sample(_kind(found.kind))))
    with _PREVIEWS_LOCK:
        _PREVIEWS[key] = made
        while len(_PREVIEWS) > PREVIEWS_KEPT:
            _PREVIEWS.popitem(last=False)
    return made


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": "file", "message": message}])


def check(key: str, filename: str | None, content: bytes | None) -> None:
    """ValidationFailed on `file` unless the upload is a DOCX whose placeholders are all known
    and which renders a sample case."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not content:
        raise _refuse(t("请选择要上传的模板文件（.docx）"))
    if len(content) > MAX_BYTES:
        raise _refuse(
            t(
                "模板「%(name)s」超过 %(megabytes)s MB",
                name=name,
                megabytes=MAX_BYTES // (1024 * 1024),
            )
        )
    if formats.extension(name) != ".docx" or not formats.matches(_DOCX, content):
        raise _refuse(
            t(
                "「%(name)s」不是 Word 文档（.docx）：模板须为 .docx 格式（.doc、.wps 请先另存为 .docx）",
                name=name,
            )
        )
    if _unpacked_size(content) > MAX_UNPACKED:
        raise _refuse(
            t(
                "模板「%(name)s」解压后超过 %(megabytes)s MB",
                name=name,
                megabytes=MAX_UNPACKED // (1024 * 1024),
            )
        )
    try:
        document = DocxTemplate(io.BytesIO(content))
        used = document.get_undeclared_template_variables(jinja_env=_sandbox())
    except (TemplateError, zipfile.BadZipFile, KeyError, ValueError) as err:
        raise _refuse(t("模板「%(name)s」的占位符写法有误：%(err)s", name=name, err=err)) from None
    unknown = sorted(set(used) - set(context.KNOWN))
    if unknown:
        raise _refuse(
            t(
                "模板「%(name)s」含有未知的占位符：%(unknown)s；可用的占位符为 %(known)s",
                name=name,
                unknown="、".join("{{ " + u + " }}" for u in unknown),
                known="、".join(context.KNOWN),
            )
        )
    try:
        render(content, context.sample(_kind(key)))
    except Exception as err:  # noqa: BLE001 - a template is user input: any failure refuses it
        raise _refuse(
            t("模板「%(name)s」无法用示例案件生成文书：%(err)s", name=name, err=err)
        ) from None


def _unpacked_size(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return sum(part.file_size for part in package.infolist())


def upload(
    session: Session,
    *,
    principal: Principal,
    key: str,
    filename: str | None,
    content: bytes | None,
    note: str | None,
    clock: Clock,
) -> Version:
    """A new version of a kind's template, by an administrator or designer (Forbidden), once it
    passes `check`; audited; flushes. Conflict when another upload of the kind took the next
    number first (two at the same instant: the database's unique (kind, version) decides)."""
    kind = _kind(key)
    check_manager(principal)
    check(key, filename, content)
    text = (note or "").strip()
    if len(text) > NOTE_MAX or "\x00" in text:
        message = t("版本说明不能超过 %(limit)s 个字", limit=NOTE_MAX)
        raise ValidationFailed(message, [{"field": "note", "message": message}])
    data = content or b""
    latest = session.execute(
        select(func.max(OfficialTemplate.version)).where(OfficialTemplate.kind == key)
    ).scalar()
    row = OfficialTemplate(
        kind=key,
        version=max(int(latest or 1), 1) + 1,
        filename=(filename or f"{kind.title}.docx").replace("\\", "/").rsplit("/", 1)[-1],
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        note=text or None,
        uploaded_by=principal.username,
        uploaded_at=clock.now(),
    )
    try:
        with session.begin_nested():  # another upload of this kind may take the number first
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            t(
                "%(title)s模板刚由他人上传了第 %(version)s 版：请刷新后查看，需要时再上传",
                title=kind.title,
                version=row.version,
            )
        ) from None
    audit.record(
        session,
        at=row.uploaded_at,
        actor=principal.username,
        action="official_template.upload",
        object_type="official_template",
        object_id=row.id,
        detail={"kind": key, "version": row.version, "sha256": row.sha256, "note": row.note},
    )
    return _version(row)


def check_manager(principal: Principal) -> None:
    """Forbidden unless the principal administers templates (admins and designers)."""
    if principal.role not in MANAGERS:
        raise Forbidden(t("只有系统管理员和流程设计人员可以管理公文模板"))
