"""表单设计: user-task forms edited in the browser, saved as drafts in the database and
deployed with their processes.

A form is a pair of files named by its stem: `<stem>.schema.json` (JSON Schema 2020-12)
and `<stem>.uischema.json` (the UI schema). A draft is saved only if it passes the checks a
deployment applies (`form_checks.check_form`), and only over the revision its editor started
from: a second designer saving the same draft is told who saved which revision when, and
nothing is overwritten. Deploying through the API or the browser reads each form from its
draft, else from the content most recently deployed under that name, else from forms/
(`DesignedForms`); the new versions pin the drafts, which are deleted in the same
transaction. The CLI keeps deploying forms/ (the seed); a restart that redeploys unchanged
files finds the existing versions by their content hash and changes nothing.

Designers write; designers and administrators read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.definitions import catalog, deployment
from workflows.definitions.form_checks import check_form, check_stem, file_names, stem_of
from workflows.engine import audit, forms
from workflows.engine.clock import Clock
from workflows.engine.models import FormDraft
from workflows.errors import DraftConflict, NotFound, Problem
from workflows.messages import t


@dataclass(frozen=True)
class DraftView:
    """A saved draft: its content, its revision (第 N 稿) and who saved it when."""

    stem: str
    schema: dict[str, Any]
    uischema: dict[str, Any]
    revision: int
    saved_by: str
    saved_at: datetime


@dataclass(frozen=True)
class FormView:
    """A form as designers see it: the deployed content (None for a form only drafted), the
    latest process versions using it, and its draft if there is one."""

    stem: str
    title: str
    schema: dict[str, Any] | None
    uischema: dict[str, Any] | None
    used_by: tuple[tuple[str, int], ...]
    draft: DraftView | None

    @property
    def schema_file(self) -> str:
        return file_names(self.stem)[0]


def _draft_view(row: FormDraft) -> DraftView:
    return DraftView(
        stem=row.stem,
        schema=json.loads(row.schema_json),
        uischema=json.loads(row.uischema_json),
        revision=row.revision,
        saved_by=row.saved_by,
        saved_at=row.saved_at,
    )


def _drafts(session: Session) -> dict[str, DraftView]:
    rows = session.execute(select(FormDraft).order_by(FormDraft.stem)).scalars()
    return {row.stem: _draft_view(row) for row in rows}


def list_forms(session: Session, *, principal: Principal) -> list[FormView]:
    """Every form of the latest process versions and every draft, by stem."""
    files = {f.name: f for f in catalog.form_files(session, principal=principal)}
    drafts = _drafts(session)
    stems = {stem for name in files if (stem := stem_of(name))} | set(drafts)
    return [_form(stem, files, drafts.get(stem)) for stem in sorted(stems)]


def get(session: Session, *, principal: Principal, stem: str) -> FormView:
    """One form with its draft; NotFound when it is neither deployed nor drafted."""
    files = {f.name: f for f in catalog.form_files(session, principal=principal)}
    drafts = _drafts(session)
    schema_name, ui_name = file_names(stem)
    if schema_name not in files and ui_name not in files and stem not in drafts:
        raise NotFound(t("表单 %(stem)s 既未部署，也没有草稿", stem=stem))
    return _form(stem, files, drafts.get(stem))


def _form(stem: str, files: dict[str, catalog.FormFile], draft: DraftView | None) -> FormView:
    schema_name, ui_name = file_names(stem)
    deployed = files.get(schema_name)
    ui = files.get(ui_name)
    schema = deployed.content if deployed is not None else None
    shown = draft.schema if draft is not None else schema or {}
    return FormView(
        stem=stem,
        title=str(shown.get("title") or ""),
        schema=schema,
        uischema=ui.content if ui is not None else ({} if deployed is not None else None),
        used_by=tuple(deployed.used_by if deployed is not None else []),
        draft=draft,
    )


def save(
    session: Session,
    *,
    principal: Principal,
    stem: str,
    schema: Any,
    uischema: Any,
    base_revision: int,
    clock: Clock,
) -> DraftView:
    """Stores the draft as revision `base_revision + 1` if it passes the deployment's checks
    (else ValidationFailed naming the JSON path) and nobody saved since `base_revision` (else
    DraftConflict naming who saved which revision when; 0 means a new draft)."""
    access.check_may_deploy(principal)
    check_stem(stem)
    check_form(schema, uischema)
    now = clock.now()
    values = {
        "schema_json": json.dumps(schema, ensure_ascii=False),
        "uischema_json": json.dumps(uischema, ensure_ascii=False),
        "saved_by": principal.username,
        "saved_at": now,
    }
    if base_revision == 0:
        try:
            with session.begin_nested():
                session.execute(insert(FormDraft).values(stem=stem, revision=1, **values))
        except IntegrityError:
            raise _conflict(session, stem, base_revision, clock) from None
    else:
        done = session.execute(
            update(FormDraft)
            .where(FormDraft.stem == stem, FormDraft.revision == base_revision)
            .values(revision=FormDraft.revision + 1, **values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise _conflict(session, stem, base_revision, clock)
    revision = base_revision + 1
    audit.record(
        session,
        at=now,
        actor=principal.username,
        action="form.draft_save",
        object_type="form",
        object_id=stem,
        detail={"revision": revision},
    )
    return DraftView(stem, schema, uischema, revision, principal.username, now)


def _conflict(session: Session, stem: str, base_revision: int, clock: Clock) -> DraftConflict:
    """What a save or a discard that lost the race is told: the draft as it is now."""
    row = session.execute(select(FormDraft).where(FormDraft.stem == stem)).scalar_one_or_none()
    if row is None:
        return DraftConflict(
            t(
                "表单 %(stem)s 的草稿已被放弃或部署（您的修改基于第 %(base_revision)s 稿）：请"
                "重新载入，或以新草稿保存（base_revision 为 0）",
                stem=stem,
                base_revision=base_revision,
            ),
            stem=stem,
            revision=0,
            saved_by=None,
            saved_at=None,
        )
    shown = f"{row.saved_at.astimezone(clock.tz):%Y-%m-%d %H:%M}"
    return DraftConflict(
        t(
            "表单 %(stem)s 的草稿已由 %(saved_by)s 于 %(shown)s 保存为第 %(revision)s 稿（您的"
            "修改基于第 %(base_revision)s 稿）：请载入对方的草稿，或以第 %(revision)s 稿为基础"
            "覆盖保存",
            stem=stem,
            saved_by=row.saved_by,
            shown=shown,
            revision=row.revision,
            base_revision=base_revision,
        ),
        stem=stem,
        revision=row.revision,
        saved_by=row.saved_by,
        saved_at=row.saved_at,
    )


def discard(
    session: Session, *, principal: Principal, stem: str, revision: int | None, clock: Clock
) -> None:
    """Deletes the draft (the deployed form stays); with `revision`, only if it is still the
    revision the designer saw (else DraftConflict). NotFound when there is no draft."""
    access.check_may_deploy(principal)
    row = session.execute(select(FormDraft).where(FormDraft.stem == stem)).scalar_one_or_none()
    if row is None:
        raise NotFound(t("表单 %(stem)s 没有草稿", stem=stem))
    _delete(session, stem, revision if revision is not None else row.revision, clock)
    audit.record(
        session,
        at=clock.now(),
        actor=principal.username,
        action="form.draft_discard",
        object_type="form",
        object_id=stem,
        detail={"revision": revision if revision is not None else row.revision},
    )


def _delete(session: Session, stem: str, revision: int, clock: Clock) -> None:
    done = session.execute(
        delete(FormDraft)
        .where(FormDraft.stem == stem, FormDraft.revision == revision)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(session, stem, revision, clock)


# -- deploying with the drafts ---------------------------------------------------------------


@dataclass
class DesignedForms:
    """The forms a deployment made in the API or the browser uses: the draft, else the
    content most recently deployed under the file's name, else the file in forms/. Records
    which drafts (stem → revision) it handed out."""

    drafts: dict[str, DraftView]
    deployed: dict[str, Any]
    folder: deployment.FormFolder
    used: dict[str, int] = field(default_factory=dict)

    @classmethod
    def read(cls, session: Session, *, forms_dir: Path) -> DesignedForms:
        """The drafts and deployed forms as they are in this transaction."""
        deployed: dict[str, Any] = {}
        rows = sorted(catalog.latest_processes(session), key=lambda r: (r.deployed_at, r.id))
        for row in rows:  # the newest deployment of a name wins
            deployed.update(json.loads(row.forms_json or "{}"))
        return cls(_drafts(session), deployed, deployment.FormFolder(forms_dir))

    def names(self) -> list[str]:
        """Every form file name a user task may reference: drafted, deployed or in forms/."""
        found = set(self.deployed)
        for stem in self.drafts:
            found.update(file_names(stem))
        folder = self.folder.folder
        if folder.is_dir():
            found.update(p.name for p in folder.glob("*.json") if stem_of(p.name))
        return sorted(found)

    def load(
        self, name: str, *, referenced_by: str, element: str
    ) -> tuple[dict[str, Any] | None, list[Problem]]:
        """The form file `name`, checked as a deployment checks it."""
        stem = stem_of(name)
        draft = self.drafts.get(stem) if stem else None
        if draft is not None:
            self.used[draft.stem] = draft.revision
            content = draft.schema if name.endswith(".schema.json") else draft.uischema
            return forms.check(content, name, referenced_by=referenced_by, element=element)
        if name in self.deployed:
            return forms.check(
                self.deployed[name], name, referenced_by=referenced_by, element=element
            )
        return self.folder.load(name, referenced_by=referenced_by, element=element)


def deploy_files(
    session: Session,
    *,
    principal: Principal,
    files: list[deployment.SourceFile],
    forms_dir: Path,
    max_bytes: int,
    clock: Clock,
    note: str,
    confirm: bool = False,
) -> deployment.Deployed:
    """`deployment.deploy` with the designed forms: the new versions pin the drafts their
    user tasks name, and those drafts are deleted in the same transaction (audited as
    `form.draft_deploy`); a draft saved again meanwhile refuses it all (DraftConflict)."""
    access.check_may_deploy(principal)
    source = DesignedForms.read(session, forms_dir=forms_dir)
    result = deployment.deploy(
        session,
        files=files,
        form_source=source,
        max_bytes=max_bytes,
        actor=principal.username,
        clock=clock,
        note=note,
        confirm=confirm,
    )
    keys = [key for key, _version in result.deployed + result.unchanged]
    for stem, revision in sorted(source.used.items()):
        _delete(session, stem, revision, clock)
        audit.record(
            session,
            at=clock.now(),
            actor=principal.username,
            action="form.draft_deploy",
            object_type="form",
            object_id=stem,
            detail={"revision": revision, "processes": keys},
        )
    return result


def deploy_form(
    session: Session,
    *,
    principal: Principal,
    stem: str,
    forms_dir: Path,
    max_bytes: int,
    clock: Clock,
    note: str,
    confirm: bool = False,
) -> deployment.Deployed:
    """Deploys every process whose latest version uses the form, from its latest BPMN with
    the form's draft, as new versions in one transaction (`deploy_files`). NotFound when no
    process uses the form: a new form reaches cases once a process's user task names it."""
    access.check_may_deploy(principal)
    names = set(file_names(stem))
    users = [
        row
        for row in catalog.latest_processes(session)
        if names & set(json.loads(row.forms_json or "{}"))
    ]
    if not users:
        raise NotFound(
            t(
                "没有流程使用表单 %(stem)s：请先在流程图中为人工任务选择 %(file_name)s 并部署流程",
                stem=stem,
                file_name=file_names(stem)[0],
            )
        )
    files = {  # a file holding two of the processes is sent once
        row.source_file: deployment.SourceFile(row.source_file, row.bpmn_xml.encode("utf-8"))
        for row in users
    }
    return deploy_files(
        session,
        principal=principal,
        files=list(files.values()),
        forms_dir=forms_dir,
        max_bytes=max_bytes,
        clock=clock,
        note=note,
        confirm=confirm,
    )
