"""Validating and deploying BPMN/DMN as immutable, content-addressed versions."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.definitions import lint, xmlgate
from workflows.engine import audit, expressions, forms, hooks, time_limits, timer_values
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.models import DecisionVersion, ProcessVersion, TimeLimitSetting
from workflows.errors import (
    ConfirmationRequired,
    DefinitionError,
    ExpressionError,
    NotFound,
    Problem,
    ValidationFailed,
)
from workflows.messages import t
from workflows.roles import ROLES

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)


@dataclass(frozen=True)
class SourceFile:
    name: str
    data: bytes

    @property
    def kind(self) -> str:
        return "dmn" if self.name.endswith(".dmn") else "bpmn"


@dataclass
class ParsedProcess:
    process_id: str
    file: SourceFile
    info: engine.ProcessInfo
    spec_json: str
    forms: dict[str, Any]


@dataclass
class Checked:
    """What validation found: the processes it could build and every problem."""

    processes: list[ParsedProcess] = field(default_factory=list)
    decisions: list[tuple[str, SourceFile]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        """Problems that refuse the deployment."""
        return [p for p in self.problems if p.severity == lint.ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems a designer may confirm and deploy anyway."""
        return [p for p in self.problems if p.severity == lint.WARNING]


class FormSource(Protocol):
    """Where deploying finds the form files (`<stem>.schema.json`, `<stem>.uischema.json`)
    that user tasks name: the folder forms/ for the CLI (`FormFolder`), the designer's drafts
    and the deployed forms for the API (`form_drafts.DesignedForms`)."""

    def load(
        self, name: str, *, referenced_by: str, element: str
    ) -> tuple[dict[str, Any] | None, list[Problem]]:
        """The checked form, or the problems naming the BPMN file and element using it."""
        ...


@dataclass(frozen=True)
class FormFolder:
    """The form files of a folder (forms/, the seed `make run` deploys)."""

    folder: Path

    def load(
        self, name: str, *, referenced_by: str, element: str
    ) -> tuple[dict[str, Any] | None, list[Problem]]:
        """The file `name` in the folder, read and checked (`forms.load`)."""
        return forms.load(self.folder, name, referenced_by=referenced_by, element=element)


NOTE_MAX = 500


def limit_settings(session: Session) -> set[tuple[str, str]]:
    """(process key, element) of the steps whose 办理时限 administrators have set."""
    return {
        (row.process_key, row.element)
        for row in session.execute(
            select(TimeLimitSetting.process_key, TimeLimitSetting.element)
        ).all()
    }


def collect(paths: Iterable[Path]) -> list[SourceFile]:
    """Files named, or *.bpmn/*.dmn in folders named (and their decisions/), in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():  # the folder and its decisions/ subfolder, as bpmn/ is laid out
            for folder in (path, path / "decisions"):
                found.extend(sorted(p for p in folder.glob("*") if p.suffix in {".bpmn", ".dmn"}))
        elif path.is_file():
            found.append(path)
        else:
            raise NotFound(t("%(path)s：没有这个文件或文件夹", path=path))
    return [SourceFile(p.name, p.read_bytes()) for p in found]


def check(
    files: list[SourceFile],
    *,
    form_source: FormSource,
    max_bytes: int,
    now: datetime | None = None,
    settings: set[tuple[str, str]] | None = None,
) -> Checked:
    """Every check of a deployment, without storing anything; constant timer dates are
    measured from `now` (the wall clock unless given). `settings` are the steps whose time
    limit administrators have set (`limit_settings`): such a step has a limit. Reasons are
    in Chinese and name the element; lint findings carry their severity (lint.py)."""
    now = now or datetime.now(UTC)
    settings = settings or set()
    result = Checked()
    definitions = engine.Definitions()
    roots: dict[str, etree._Element] = {}
    named: dict[str, dict[str, str]] = {}
    for source in files:
        try:
            root = xmlgate.parse(source.data, filename=source.name, max_bytes=max_bytes)
        except DefinitionError as err:
            result.problems.extend(err.problems)
            continue
        if (wrong := _not_a_definition(root, source)) is not None:
            result.problems.append(wrong)
            continue
        roots[source.name] = root
        named[source.name] = lint.names(root)
        result.problems.extend(_check_expressions(root, source, now))
        if source.kind == "bpmn":
            result.problems.extend(
                Problem(source.name, f.element, f.reason, severity=f.severity, name=f.name)
                for f in lint.structure(root)
            )
        try:
            if source.kind == "dmn":
                definitions.add_dmn(root, source.name)
            else:
                definitions.add_bpmn(root, source.name)
        except Exception as err:  # noqa: BLE001 - the spiff parser raises many kinds; report them
            result.problems.append(Problem(source.name, getattr(err, "id", None), _reason(err)))
            roots.pop(source.name)
    by_name = {f.name: f for f in files}
    for decision_id in definitions.decision_ids():
        for name, root in roots.items():
            if by_name[name].kind == "dmn" and root.find(f".//*[@id='{decision_id}']") is not None:
                result.decisions.append((decision_id, by_name[name]))
    for process_id in definitions.process_ids():
        filename = definitions.process_file(process_id) or "?"
        process_file = by_name.get(Path(filename).name)
        if process_file is None:
            continue
        try:
            compiled = definitions.compile(process_id)
        except engine.ProcessError as err:
            element = _locate(err, roots.get(process_file.name))
            result.problems.append(Problem(process_file.name, element, err.message))
            continue
        info = engine.describe(compiled)
        root = roots.get(process_file.name)
        timed = lint.timed_by_boundary(root) if root is not None else set()
        timed |= {element for key, element in settings if key == process_id}
        problems, form_schemas = _check_user_tasks(
            info, process_file.name, form_source, compiled, timed
        )
        problems.extend(_check_actions(compiled, process_file.name))
        result.problems.extend(problems)
        refused = any(
            p.severity == lint.ERROR for p in result.problems if p.file == process_file.name
        )
        if not refused:
            result.processes.append(
                ParsedProcess(
                    process_id, process_file, info, engine.dump_spec(compiled), form_schemas
                )
            )
    for problem in result.problems:
        problem.reason = lint.translate(problem.reason)
        if problem.name is None and problem.element:
            problem.name = named.get(problem.file, {}).get(problem.element) or None
    return result


_DEFINITIONS = {"bpmn": ("BPMN", "bpmn:definitions"), "dmn": ("DMN", "dmn:definitions")}


def _not_a_definition(root: etree._Element, source: SourceFile) -> Problem | None:
    """A file whose root is not the definitions element of its kind, or a BPMN file without a
    process: named, so that it is refused instead of passing with nothing in it."""
    standard, expected = _DEFINITIONS[source.kind]
    qname = etree.QName(root)
    if qname.localname != "definitions" or f"/{standard}/" not in (qname.namespace or ""):
        return Problem(
            source.name,
            None,
            t(
                "不是 %(standard)s 文件：根元素为 %(localname)s，应为 %(expected)s",
                standard=standard,
                localname=qname.localname,
                expected=expected,
            ),
        )
    if source.kind == "bpmn" and root.find(f"{{{BPMN_NS}}}process") is None:
        return Problem(source.name, None, t("文件中没有流程（bpmn:process）"))
    return None


def _reason(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def _check_user_tasks(
    info: engine.ProcessInfo,
    filename: str,
    source: FormSource,
    compiled: engine.Compiled,
    timed: set[str],
) -> tuple[list[Problem], dict[str, Any]]:
    """Lane of a known role (error); a form and a time limit rule (warnings: lint.py)."""
    problems: list[Problem] = []
    schemas: dict[str, Any] = {}
    for task in info.user_tasks:
        props = engine.task_properties(compiled, task.element)
        if not task.form:
            problems.append(
                Problem(
                    filename,
                    task.element,
                    t("人工任务没有表单（formJsonSchemaFilename）：办理人只能直接提交"),
                    severity=lint.WARNING,
                    name=task.name,
                )
            )
        if not time_limits.has_limit(props) and task.element not in timed:
            problems.append(
                Problem(
                    filename,
                    task.element,
                    t(
                        "人工任务没有办理时限（timeLimit、dueAt、timeLimitSameAs 或边界定时器，也没有管理员设置的时限）"
                    ),
                    severity=lint.WARNING,
                    name=task.name,
                )
            )
        if task.lane is None:
            problems.append(
                Problem(
                    filename,
                    task.element,
                    t("人工任务不在任何泳道中：泳道决定由哪个角色办理"),
                )
            )
        elif task.lane not in ROLES:
            problems.append(
                Problem(
                    filename,
                    task.element,
                    t(
                        "泳道 %(lane)r 不是已知角色（应为 %(roles)s 之一）",
                        lane=task.lane,
                        roles="、".join(ROLES),
                    ),
                )
            )
        for name in filter(None, [task.form, task.ui_form]):
            schema, found = source.load(name, referenced_by=filename, element=task.element)
            problems.extend(found)
            if schema is not None:
                schemas[name] = schema
    return problems, schemas


#: What a step's `capacity` may say: it only handled the case, or decided it (§ 回避).
CAPACITIES = ("handled", "decided")
#: `assigneeFrom` names a field of the process data.
_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def _check_actions(compiled: engine.Compiled, filename: str) -> list[Problem]:
    """Actions must be registered; capacity is handled or decided; assigneeFrom names a data
    field; deadlineBasis, dueAt and timeLimitFrom must pass the safe evaluator; a time limit
    must read as one (`time_limits.check_properties`)."""
    known = hooks.REGISTRY.known()
    problems = []
    for element, props in engine.all_properties(compiled).items():
        if props.get("action") and props["action"] not in known:
            problems.append(
                Problem(
                    filename,
                    element,
                    t("动作 %(action)r 未在 workflows/ 中登记", action=props["action"]),
                )
            )
        if props.get("capacity") and props["capacity"] not in CAPACITIES:
            problems.append(
                Problem(
                    filename,
                    element,
                    t(
                        "capacity：%(capacity)r 应为 handled（经办）或 decided（作出决定）",
                        capacity=props["capacity"][:40],
                    ),
                )
            )
        if props.get("assigneeFrom") and not _FIELD_NAME.match(props["assigneeFrom"]):
            problems.append(
                Problem(
                    filename,
                    element,
                    t("assigneeFrom：应为流程数据的字段名（字母开头，只含字母、数字和下划线）"),
                )
            )
        problems.extend(
            Problem(filename, element, f"{name}：{message}")
            for name, message in time_limits.check_properties(props)
        )
        for name in ("deadlineBasis", "dueAt", time_limits.FROM):
            if props.get(name):
                try:
                    expressions.check(props[name])
                except ExpressionError as err:
                    problems.append(
                        Problem(filename, element, f"{name}：{lint.translate(err.reason)}")
                    )
    return problems


def _owner_id(node: etree._Element) -> str | None:
    """The id of the element a designer sees: skip ids of event definitions and the like."""
    while node is not None:
        tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
        if node.get("id") and not tag.endswith("EventDefinition"):
            return node.get("id")
        node = node.getparent()
    return None


_MISSING_PROCESS = re.compile(r"process '([^']+)' was not found")


def _locate(err: engine.ProcessError, root: etree._Element | None) -> str | None:
    """SpiffWorkflow does not always say where; find the call activity it means."""
    if err.element or root is None:
        return err.element or None
    missing = _MISSING_PROCESS.search(err.message)
    if missing:
        for node in root.iter(f"{{{BPMN_NS}}}callActivity"):
            if node.get("calledElement") == missing.group(1):
                return node.get("id")
    return None


def _check_expressions(root: etree._Element, source: SourceFile, now: datetime) -> list[Problem]:
    """Every expression in the file must pass the safe evaluator, and a timer's constant value
    the timer bounds (values from task data are checked when the engine evaluates them);
    name the element."""
    problems: list[Problem] = []

    def refuse(node: etree._Element, err: ExpressionError) -> None:
        problems.append(
            Problem(
                source.name,
                _owner_id(node),
                lint.translate(err.reason) + f"，见 {err.expression!r}",
            )
        )

    def expr(node: etree._Element, text: str | None) -> bool:
        """True when there is an expression and it passed."""
        if text and text.strip():
            try:
                expressions.check(text.strip())
                return True
            except ExpressionError as err:
                refuse(node, err)
        return False

    def script(node: etree._Element, text: str | None) -> None:
        if text and text.strip():
            try:
                expressions.check_script(text)
            except ExpressionError as err:
                refuse(node, err)

    def timer(node: etree._Element, kind: str, text: str) -> None:
        try:
            known, value = expressions.constant_value(text)
            if known:
                timer_values.check(kind, value, now=now, element=_owner_id(node))
        except ExpressionError as err:
            refuse(node, err)
        except timer_values.TimerValueRefused as err:
            problems.append(Problem(source.name, _owner_id(node), err.message))

    if source.kind == "bpmn":
        for tag in (
            "conditionExpression",
            "timeDate",
            "timeDuration",
            "timeCycle",
            "loopCardinality",
            "completionCondition",
        ):
            for node in root.iter(f"{{{BPMN_NS}}}{tag}"):
                if expr(node, node.text) and tag in timer_values.KINDS:
                    timer(node, timer_values.KINDS[tag], str(node.text).strip())
        for node in root.iter(f"{{{BPMN_NS}}}script"):
            script(node, node.text)
        for tag in ("preScript", "postScript"):
            for node in root.iter(f"{{{SPIFF_NS}}}{tag}"):
                script(node, node.text)
        return problems
    for ns in DMN_NAMESPACES:
        for node in root.iter(f"{{{ns}}}inputExpression", f"{{{ns}}}outputEntry"):
            text = node.findtext(f"{{{ns}}}text")
            expr(node, text)
        for node in root.iter(f"{{{ns}}}inputEntry"):
            _check_dmn_test(node, node.findtext(f"{{{ns}}}text"), refuse)
    return problems


def _check_dmn_test(node: etree._Element, text: str | None, refuse: Any) -> None:
    """An input entry is an expression compared with '==' or an operator tail ('< 5')."""
    text = (text or "").strip()
    if not text or text == "-":
        return
    candidates = [text, f"dmninputexpr {text}", text.replace("?", "dmninputexpr")]
    last: ExpressionError | None = None
    for candidate in candidates:
        try:
            expressions.check(candidate)
            return
        except ExpressionError as err:
            last = last or err
    assert last is not None
    refuse(node, last)


@dataclass
class Deployed:
    deployed: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[tuple[str, int]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # confirmed by the deployer


def check_note(note: Any) -> str:
    """The 版本说明, trimmed: 1-500 characters, else ValidationFailed on the field `note`."""
    text = note.strip() if isinstance(note, str) else ""
    if not text:
        raise ValidationFailed(
            t("请填写版本说明"), [{"field": "note", "message": t("版本说明不能为空（1-500 字）")}]
        )
    if len(text) > NOTE_MAX:
        raise ValidationFailed(
            t("版本说明过长"),
            [
                {
                    "field": "note",
                    "message": t(
                        "版本说明不能超过 %(limit)s 字（现为 %(count)s 字）",
                        limit=NOTE_MAX,
                        count=len(text),
                    ),
                }
            ],
        )
    return text


def _hash(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def deploy(
    session: Session,
    *,
    files: list[SourceFile],
    form_source: FormSource,
    max_bytes: int,
    actor: str,
    clock: Clock,
    note: str,
    confirm: bool = False,
) -> Deployed:
    """Stores each changed process and DMN as a new version with its 版本说明 `note`;
    unchanged ones are no-ops.

    All or nothing: a single error anywhere refuses the whole deployment; warnings refuse it
    (ConfirmationRequired, listing them) unless `confirm`."""
    text = check_note(note)
    checked = check(
        files,
        form_source=form_source,
        max_bytes=max_bytes,
        now=clock.now(),
        settings=limit_settings(session),
    )
    if checked.errors:
        raise DefinitionError(
            t("发现 %(count)s 个错误，未部署任何内容", count=len(checked.errors)), checked.problems
        )
    if checked.warnings and not confirm:
        raise ConfirmationRequired(
            t("有 %(count)s 个警告，确认后才能部署", count=len(checked.warnings)), checked.warnings
        )
    now = clock.now()
    result = Deployed(warnings=checked.warnings)
    for decision_id, source in checked.decisions:
        content_hash = _hash(source.data)
        existing = session.execute(
            select(DecisionVersion).where(
                DecisionVersion.decision_key == decision_id,
                DecisionVersion.content_hash == content_hash,
            )
        ).scalar_one_or_none()
        if existing is not None:
            result.unchanged.append((decision_id, existing.version))
            continue
        version = _next_version(
            session, DecisionVersion.decision_key, DecisionVersion.version, decision_id
        )
        session.add(
            DecisionVersion(
                decision_key=decision_id,
                version=version,
                content_hash=content_hash,
                source_file=source.name,
                dmn_xml=source.data.decode("utf-8"),
                deployed_at=now,
                deployed_by=actor,
                note=text,
            )
        )
        audit.record(
            session,
            at=now,
            actor=actor,
            action="decision.deploy",
            object_type="decision",
            object_id=decision_id,
            detail={"version": version, "file": source.name, "note": text},
        )
        result.deployed.append((decision_id, version))
    for process in checked.processes:
        forms_json = json.dumps(process.forms, ensure_ascii=False, sort_keys=True)
        content_hash = _hash(process.file.data, process.spec_json, forms_json)
        deployed = session.execute(
            select(ProcessVersion).where(
                ProcessVersion.process_key == process.process_id,
                ProcessVersion.content_hash == content_hash,
            )
        ).scalar_one_or_none()
        if deployed is not None:
            result.unchanged.append((process.process_id, deployed.version))
            continue
        version = _next_version(
            session, ProcessVersion.process_key, ProcessVersion.version, process.process_id
        )
        row = ProcessVersion(
            process_key=process.process_id,
            version=version,
            name=process.info.name,
            content_hash=content_hash,
            source_file=process.file.name,
            bpmn_xml=process.file.data.decode("utf-8"),
            spec_json=process.spec_json,
            forms_json=forms_json,
            start_timer=process.info.has_start_timer,
            deployed_at=now,
            deployed_by=actor,
            note=text,
            confirmed_warnings=len([p for p in checked.warnings if p.file == process.file.name]),
        )
        session.add(row)
        session.flush()
        audit.record(
            session,
            at=now,
            actor=actor,
            action="process.deploy",
            object_type="process",
            object_id=process.process_id,
            detail={
                "version": version,
                "file": process.file.name,
                "hash": content_hash,
                "note": text,
                "confirmed_warnings": row.confirmed_warnings,
            },
        )
        result.deployed.append((process.process_id, version))
    session.flush()
    return result


def _next_version(session: Session, key_col: Any, version_col: Any, key: str) -> int:
    current = session.execute(select(func.max(version_col)).where(key_col == key)).scalar()
    return (current or 0) + 1


def latest(session: Session, *, process_key: str) -> ProcessVersion:
    """The newest deployed version of a process; NotFound names the key."""
    row = session.execute(
        select(ProcessVersion)
        .where(ProcessVersion.process_key == process_key)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(t("流程 %(process_key)r 尚未部署", process_key=process_key))
    return row


EXPRESSION_KINDS = ("condition", "timer", "script")


def check_expression(kind: str, text: str) -> str | None:
    """One expression as the editor's properties panel types it: a gateway flow's condition,
    a timer's expression or a script, checked as deploying would (the safe evaluator); the
    Chinese reason it is refused, or None when it passes. An empty text passes (the lint
    reports missing conditions). Nothing is stored; the caller checks who may ask."""
    if kind not in EXPRESSION_KINDS:
        raise ValidationFailed(
            t("表达式类型无效"),
            [{"field": "kind", "message": t("应为 condition、timer 或 script")}],
        )
    if not text.strip():
        return None
    try:
        if kind == "script":
            expressions.check_script(text)
        else:
            expressions.check(text.strip())
            if kind == "timer":
                expressions.constant_value(text.strip())
    except ExpressionError as err:
        return lint.translate(err.reason)
    return None
