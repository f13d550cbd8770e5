"""Deployed versions kept in memory: immutable rows, so caching them is always safe."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import FromClause, ScalarSelect, select
from sqlalchemy.orm import Session

from workflows.engine import forms
from workflows.engine import spiff as engine
from workflows.engine.models import ProcessVersion
from workflows.errors import NotFound
from workflows.messages import t

_CACHE_SIZE = 128
_SPECS: OrderedDict[str, engine.Compiled] = OrderedDict()


def compiled_spec(version: ProcessVersion) -> engine.Compiled:
    """Parsed once per deployed version; keyed by content so it is valid across databases."""
    key = f"{version.process_key}:{version.content_hash}"
    compiled = _SPECS.get(key)
    if compiled is None:
        compiled = engine.load_spec(version.spec_json)
        _SPECS[key] = compiled
        if len(_SPECS) > _CACHE_SIZE:
            _SPECS.popitem(last=False)
    else:
        _SPECS.move_to_end(key)
    return compiled


@dataclass
class Loaded:
    """What an advance needs of a deployed version: the spec and its form validators."""

    process_key: str
    version: int
    compiled: engine.Compiled
    forms: dict[str, Any]
    validators: dict[str, Any] = field(default_factory=dict)
    _properties: dict[str, dict[str, str]] = field(default_factory=dict)

    def properties(self, element: str) -> dict[str, str]:
        if element not in self._properties:
            self._properties[element] = engine.task_properties(self.compiled, element)
        return self._properties[element]

    def validator(self, name: str) -> Any:
        if name not in self.validators:
            self.validators[name] = forms.compile(self.forms[name])
        return self.validators[name]


_LOADED: OrderedDict[tuple[int, str], Loaded] = OrderedDict()


def load(session: Session, version_id: int, content_hash: str) -> Loaded:
    """The version by id, read once per process; keyed by content too, since ids are not
    unique across databases (tests, restores) while content hashes are."""
    key = (version_id, content_hash)
    found = _LOADED.get(key)
    if found is None:
        row = session.get(ProcessVersion, version_id)
        if row is None or row.content_hash != content_hash:
            raise NotFound(t("流程版本 %(version_id)s 不存在", version_id=version_id))
        found = Loaded(row.process_key, row.version, compiled_spec(row), json.loads(row.forms_json))
        _LOADED[key] = found
        if len(_LOADED) > _CACHE_SIZE:
            _LOADED.popitem(last=False)
    return found


def newest_name(rows: FromClause) -> ScalarSelect[str]:
    """The name the newest deployed version gives the process of each of `rows` (anything
    with a `process_key` column), as a subquery correlated to them: how views name a process."""
    return (
        select(ProcessVersion.name)
        .where(ProcessVersion.process_key == rows.c.process_key)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
        .correlate(rows)
        .scalar_subquery()
    )
