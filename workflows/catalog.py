"""The process catalogue (流程目录): deployed processes, their versions, and how many
instances run on each version.

Counts are of the instances a principal may know about: a designer sees every
deployment's counts (they decide about versions and see no case in them), a cadre only
their own cases, everyone else the instances of the org units they see.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from workflows.access import MAX_ID, Principal
from workflows.cases.models import CaseFile
from workflows.errors import NotFound
from workflows.models import Instance, ProcessVersion

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
    start_timer: bool
    running: int = 0
    completed: int = 0


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
        return Instance.id.in_(select(CaseFile.instance_id).where(
            CaseFile.cadre_id == principal.cadre_id, CaseFile.instance_id.is_not(None)))
    return Instance.org_unit.in_(sorted(principal.units))


def _counts(session: Session, principal: Principal,
            process_key: str | None = None) -> dict[tuple[str, int], dict[str, int]]:
    query = (select(ProcessVersion.process_key, ProcessVersion.version, Instance.status, func.count())
             .join(Instance, Instance.process_version_id == ProcessVersion.id)
             .where(instance_scope(principal))
             .group_by(ProcessVersion.process_key, ProcessVersion.version, Instance.status))
    if process_key is not None:
        query = query.where(ProcessVersion.process_key == process_key)
    counts: dict[tuple[str, int], dict[str, int]] = {}
    for key, version, status, number in session.execute(query):
        counts.setdefault((key, version), {})[status] = int(number)
    return counts


def _version(row: Any, counts: dict[tuple[str, int], dict[str, int]]) -> VersionInfo:
    found = counts.get((row.process_key, row.version), {})
    return VersionInfo(version=row.version, name=row.name, source_file=row.source_file,
                       content_hash=row.content_hash, deployed_at=row.deployed_at,
                       deployed_by=row.deployed_by, start_timer=row.start_timer,
                       running=found.get("running", 0), completed=found.get("completed", 0))


_META = (ProcessVersion.process_key, ProcessVersion.version, ProcessVersion.name,
         ProcessVersion.source_file, ProcessVersion.content_hash, ProcessVersion.deployed_at,
         ProcessVersion.deployed_by, ProcessVersion.start_timer)


def processes(session: Session, *, principal: Principal) -> list[ProcessInfo]:
    """Every deployed process with its versions (newest first) and running counts, by key."""
    counts = _counts(session, principal)
    rows = session.execute(select(*_META).order_by(ProcessVersion.process_key,
                                                   ProcessVersion.version.desc())).all()
    found: dict[str, ProcessInfo] = {}
    for row in rows:
        info = _version(row, counts)
        if row.process_key not in found:
            found[row.process_key] = ProcessInfo(key=row.process_key, name=row.name, latest=info)
        found[row.process_key].versions.append(info)
    return list(found.values())


def process(session: Session, *, principal: Principal, key: str) -> ProcessInfo:
    """One process with its versions (newest first) and counts; NotFound names the key."""
    counts = _counts(session, principal, key)
    rows = session.execute(select(*_META).where(ProcessVersion.process_key == key)
                           .order_by(ProcessVersion.version.desc())).all()
    if not rows:
        raise NotFound(f"流程 {key} 未部署")
    versions = [_version(row, counts) for row in rows]
    return ProcessInfo(key=key, name=versions[0].name, latest=versions[0], versions=versions)


def version_row(session: Session, *, key: str, version: int) -> ProcessVersion:
    """One deployed version; NotFound names the key and version."""
    if not 0 < version <= MAX_ID:
        raise NotFound(f"流程 {key} 没有第 {version} 版")
    row = session.execute(select(ProcessVersion).where(
        ProcessVersion.process_key == key, ProcessVersion.version == version)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"流程 {key} 没有第 {version} 版")
    return row


def forms_of(row: ProcessVersion) -> list[str]:
    """The form files a version was deployed with (pinned in the version)."""
    forms: dict[str, Any] = json.loads(row.forms_json or "{}")
    return sorted(forms)
