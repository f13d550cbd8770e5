"""The process catalogue (流程目录): deployed processes, their versions, and how many
instances run on each version; deployed decision tables and form files for designers.

Counts are of the instances a principal may know about: a designer sees every
deployment's counts (they decide about versions and see no case in them), a cadre only
their own cases, everyone else the instances of the org units they see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree
from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from workflows.access import MAX_ID, Principal
from workflows.cases.models import CaseFile
from workflows.definitions import xmlgate
from workflows.engine.models import DecisionVersion, Instance, ProcessVersion
from workflows.errors import DefinitionError, Forbidden, NotFound
from workflows.messages import t
from workflows.org import people
from workflows.roles import ROLES

#: Roles that read the BPMN XML in the catalogue (the diagram viewer reads it per version).
XML_ROLES = frozenset({"designer", "admin"})


@dataclass
class VersionInfo:
    version: int
    name: str
    source_file: str
    content_hash: str
    deployed_at: datetime
    deployed_by: str
    deployed_by_name: str  # 姓名（单位·岗位）
    start_timer: bool
    running: int = 0
    completed: int = 0
    note: str | None = None  # 版本说明 (None: deployed before notes existed)
    confirmed_warnings: int = 0


@dataclass
class ProcessInfo:
    key: str
    name: str
    latest: VersionInfo
    versions: list[VersionInfo] = field(default_factory=list)

    @property
    def running(self) -> int:
        return sum(v.running for v in self.versions)


def instance_scope(principal: Principal) -> ColumnElement[bool]:
    """The instances whose existence this principal may count, as a clause over Instance."""
    if principal.role == "designer":
        return true()
    if principal.role == "cadre":
        if principal.cadre_id is None:
            return false()
        return Instance.id.in_(
            select(CaseFile.instance_id).where(
                CaseFile.cadre_id == principal.cadre_id, CaseFile.instance_id.is_not(None)
            )
        )
    return Instance.org_unit.in_(sorted(principal.units))


def _counts(
    session: Session, principal: Principal, process_key: str | None = None
) -> dict[tuple[str, int], dict[str, int]]:
    query = (
        select(ProcessVersion.process_key, ProcessVersion.version, Instance.status, func.count())
        .join(Instance, Instance.process_version_id == ProcessVersion.id)
        .where(instance_scope(principal))
        .group_by(ProcessVersion.process_key, ProcessVersion.version, Instance.status)
    )
    if process_key is not None:
        query = query.where(ProcessVersion.process_key == process_key)
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for key, version, status, number in session.execute(query):
        counts.setdefault((key, version), {})[status] = int(number)
    return counts


def _version(
    row: Any, counts: dict[tuple[str, int], dict[str, int]], names: people.Labels
) -> VersionInfo:
    found = counts.get((row.process_key, row.version), {})
    return VersionInfo(
        version=row.version,
        name=row.name,
        source_file=row.source_file,
        content_hash=row.content_hash,
        deployed_at=row.deployed_at,
        deployed_by=row.deployed_by,
        deployed_by_name=names[row.deployed_by],
        start_timer=row.start_timer,
        running=found.get("running", 0),
        completed=found.get("completed", 0),
        note=row.note,
        confirmed_warnings=row.confirmed_warnings or 0,
    )


_META = (
    ProcessVersion.process_key,
    ProcessVersion.version,
    ProcessVersion.name,
    ProcessVersion.source_file,
    ProcessVersion.content_hash,
    ProcessVersion.deployed_at,
    ProcessVersion.deployed_by,
    ProcessVersion.start_timer,
    ProcessVersion.note,
    ProcessVersion.confirmed_warnings,
)


def processes(session: Session, *, principal: Principal) -> list[ProcessInfo]:
    """Every deployed process with its versions (newest first) and running counts, by key."""
    counts = _counts(session, principal)
    rows = session.execute(
        select(*_META).order_by(ProcessVersion.process_key, ProcessVersion.version.desc())
    ).all()
    names = people.labels(session, (row.deployed_by for row in rows))
    found: dict[str, ProcessInfo] = {}
    for row in rows:
        info = _version(row, counts, names)
        if row.process_key not in found:
            found[row.process_key] = ProcessInfo(key=row.process_key, name=row.name, latest=info)
        found[row.process_key].versions.append(info)
    return list(found.values())


def process(session: Session, *, principal: Principal, key: str) -> ProcessInfo:
    """One process with its versions (newest first) and counts; NotFound names the key."""
    counts = _counts(session, principal, key)
    rows = session.execute(
        select(*_META)
        .where(ProcessVersion.process_key == key)
        .order_by(ProcessVersion.version.desc())
    ).all()
    if not rows:
        raise NotFound(t("流程 %(key)s 未部署", key=key))
    names = people.labels(session, (row.deployed_by for row in rows))
    versions = [_version(row, counts, names) for row in rows]
    return ProcessInfo(key=key, name=versions[0].name, latest=versions[0], versions=versions)


def version_row(session: Session, *, key: str, version: int) -> ProcessVersion:
    """One deployed version; NotFound names the key and version."""
    if not 0 < version <= MAX_ID:
        raise NotFound(t("流程 %(key)s 没有第 %(version)s 版", key=key, version=version))
    row = session.execute(
        select(ProcessVersion).where(
            ProcessVersion.process_key == key, ProcessVersion.version == version
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(t("流程 %(key)s 没有第 %(version)s 版", key=key, version=version))
    return row


def forms_of(row: ProcessVersion) -> list[str]:
    """The form files a version was deployed with (pinned in the version)."""
    forms: dict[str, Any] = json.loads(row.forms_json or "{}")
    return sorted(forms)


# -- sources for designers: decision tables and form files -----------------------------------
_SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_SOURCE_BYTES = 50_000_000  # already through the gate at deploy; this only re-reads stored XML


def check_may_read_sources(principal: Principal) -> None:
    """Only designers and administrators read definition sources (BPMN, DMN, form files)."""
    if principal.role not in XML_ROLES:
        raise Forbidden(
            t(
                "只有流程设计和系统管理人员可以查看流程定义文件：%(username)s 是%(role)s人员",
                username=principal.username,
                role=ROLES.get(principal.role, principal.role),
            )
        )


@dataclass
class DecisionInfo:
    key: str
    name: str
    latest_version: int
    version_count: int
    source_file: str
    deployed_at: datetime
    deployed_by: str
    deployed_by_name: str  # 姓名（单位·岗位）
    note: str | None  # the latest version's 版本说明 (None: deployed before decision notes)
    used_by: list[str] = field(
        default_factory=list
    )  # keys of processes whose latest version calls it


def _parsed(xml: str, filename: str) -> etree._Element | None:
    try:
        return xmlgate.parse(xml.encode("utf-8"), filename=filename, max_bytes=_SOURCE_BYTES)
    except DefinitionError:
        return None


def latest_processes(session: Session) -> list[ProcessVersion]:
    newest = (
        select(ProcessVersion.process_key, func.max(ProcessVersion.version).label("version"))
        .group_by(ProcessVersion.process_key)
        .subquery()
    )
    return list(
        session.execute(
            select(ProcessVersion)
            .join(
                newest,
                (ProcessVersion.process_key == newest.c.process_key)
                & (ProcessVersion.version == newest.c.version),
            )
            .order_by(ProcessVersion.process_key)
        ).scalars()
    )


def _called_decisions(row: ProcessVersion) -> set[str]:
    root = _parsed(row.bpmn_xml, row.source_file)
    if root is None:
        return set()
    return {(node.text or "").strip() for node in root.iter(f"{{{_SPIFF_NS}}}calledDecisionId")}


def decisions(session: Session, *, principal: Principal) -> list[DecisionInfo]:
    """Every deployed decision table: its name, latest version, and the processes (latest
    versions) that call it."""
    check_may_read_sources(principal)
    rows = list(
        session.execute(
            select(DecisionVersion).order_by(
                DecisionVersion.decision_key, DecisionVersion.version.desc()
            )
        ).scalars()
    )
    callers = {row.process_key: _called_decisions(row) for row in latest_processes(session)}
    names = people.labels(session, (row.deployed_by for row in rows))
    found: dict[str, DecisionInfo] = {}
    for row in rows:
        if row.decision_key in found:
            found[row.decision_key].version_count += 1
            continue
        found[row.decision_key] = DecisionInfo(
            key=row.decision_key,
            name=_decision_name(row),
            latest_version=row.version,
            version_count=1,
            source_file=row.source_file,
            deployed_at=row.deployed_at,
            deployed_by=row.deployed_by,
            deployed_by_name=names[row.deployed_by],
            note=row.note,
            used_by=sorted(key for key, called in callers.items() if row.decision_key in called),
        )
    return list(found.values())


def _decision_name(row: DecisionVersion) -> str:
    root = _parsed(row.dmn_xml, row.source_file)
    if root is not None:
        for node in root.iter():
            if (
                isinstance(node.tag, str)
                and etree.QName(node).localname == "decision"
                and node.get("id") == row.decision_key
            ):
                return node.get("name") or row.decision_key
    return row.decision_key


def decision(session: Session, *, principal: Principal, key: str) -> DecisionVersion:
    """The latest deployed version of a decision table; NotFound names the key."""
    check_may_read_sources(principal)
    row = session.execute(
        select(DecisionVersion)
        .where(DecisionVersion.decision_key == key)
        .order_by(DecisionVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(t("决策表 %(key)s 未部署", key=key))
    return row


def processes_calling(
    session: Session, *, principal: Principal, decision_key: str
) -> list[ProcessVersion]:
    """The latest versions of the processes that call a decision table (a new table reaches
    new cases only with a new version of each of them: versions pin their tables)."""
    check_may_read_sources(principal)
    return [row for row in latest_processes(session) if decision_key in _called_decisions(row)]


@dataclass
class FormFile:
    name: str
    content: Any  # the parsed JSON
    used_by: list[tuple[str, int]] = field(default_factory=list)  # (process key, version)

    @property
    def is_ui_schema(self) -> bool:
        return self.name.endswith(".uischema.json")


def form_files(session: Session, *, principal: Principal) -> list[FormFile]:
    """The form files pinned in the latest version of each process, by name, with the
    processes that use them."""
    check_may_read_sources(principal)
    found: dict[str, FormFile] = {}
    for row in latest_processes(session):
        forms: dict[str, Any] = json.loads(row.forms_json or "{}")
        for name, content in forms.items():
            entry = found.setdefault(name, FormFile(name=name, content=content))
            entry.used_by.append((row.process_key, row.version))
    return [found[name] for name in sorted(found)]


def form_file(session: Session, *, principal: Principal, name: str) -> FormFile:
    """One form file of the latest versions; NotFound names it."""
    for entry in form_files(session, principal=principal):
        if entry.name == name:
            return entry
    raise NotFound(t("表单文件 %(name)s 不在已部署流程的最新版本中", name=name))
