"""`FastSchema.dump` (server/api/dumping.py) answers exactly what marshmallow's own dump
answers: on a schema of every kind of field it compiles, on schemas it must leave to
marshmallow, and on the real answers of the task API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import Schema, fields, post_dump

from server.api import tasks as task_api
from server.api.dumping import FastSchema, compile_schema
from tests.support.world import World
from workflows import access
from workflows.tasks import queues, views
from workflows.tasks.completion import complete

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _marshmallow(schema: Schema, obj: Any, **kwargs: Any) -> Any:
    """What marshmallow's own dump answers for `schema`."""
    return Schema.dump(schema, obj, **kwargs)


class Inner(FastSchema):
    code = fields.String(required=True)
    count = fields.Integer(allow_none=True)


class Every(FastSchema):
    text = fields.String()
    number = fields.Integer()
    ratio = fields.Float()
    money = fields.Decimal(as_string=True)
    flag = fields.Boolean()
    at = fields.DateTime()
    on = fields.Date()
    uid = fields.UUID()
    raw = fields.Raw()
    mapping = fields.Dict()
    renamed = fields.String(attribute="source_name", data_key="shownName")
    defaulted = fields.String(dump_default="默认")
    called = fields.Integer(dump_default=lambda: 7)
    words = fields.List(fields.String())
    one = fields.Nested(Inner, allow_none=True)
    many = fields.List(fields.Nested(Inner))
    nested_many = fields.Nested(Inner, many=True)
    only = fields.Nested(Inner, only=("code",))


@dataclass
class Thing:
    text: Any = "文字"
    number: Any = 3
    ratio: Any = 0.5
    money: Any = Decimal("12.30")
    flag: Any = True
    at: Any = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)
    on: Any = date(2026, 12, 3)
    uid: Any = field(default_factory=lambda: uuid.UUID(int=5))
    raw: Any = field(default_factory=lambda: {"a": [1, 2]})
    mapping: Any = field(default_factory=lambda: {"k": "v"})
    source_name: Any = "张三"
    words: Any = field(default_factory=lambda: ["甲", 2])
    one: Any = field(default_factory=lambda: {"code": "x", "count": None})
    many: Any = field(default_factory=lambda: [{"code": "y", "count": "4"}])
    nested_many: Any = field(default_factory=lambda: [{"code": b"z"}])
    only: Any = field(default_factory=lambda: {"code": "o", "count": 9})


def test_every_plain_field_dumps_as_marshmallow_dumps_it() -> None:
    schema = Every()
    assert compile_schema(schema) is not None
    for thing in (
        Thing(),
        Thing(text=None, number=None, flag=None, at=None, one=None, words=None, many=[]),
        Thing(text=12, number="5", flag=0, words=[], mapping=None),
    ):
        assert schema.dump(thing) == _marshmallow(schema, thing)
    as_dicts = [vars(Thing()), {"text": "只有一项"}]  # a mapping; missing keys are left out
    assert schema.dump(as_dicts, many=True) == _marshmallow(schema, as_dicts, many=True)
    assert schema.dump(None) == _marshmallow(schema, None)


class Hooked(FastSchema):
    name = fields.String()

    @post_dump
    def _shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "name": str(data["name"]).upper()}


class Computed(FastSchema):
    name = fields.String()
    length = fields.Method("_length")
    path = fields.String(attribute="inner.name")

    def _length(self, obj: Any) -> int:
        return len(obj["name"])


def test_schemas_it_cannot_compile_are_dumped_by_marshmallow() -> None:
    for schema, obj in (
        (Hooked(), {"name": "abc"}),
        (Computed(), {"name": "abcd", "inner": {"name": "内"}}),
    ):
        assert compile_schema(schema) is None
        assert schema.dump(obj) == _marshmallow(schema, obj)
    assert Hooked().dump({"name": "abc"}) == {"name": "ABC"}


def test_the_task_apis_answers_are_marshmallows(world: World) -> None:
    opened = [world.open("accountability", data=REGISTER) for _ in range(3)]
    world.complete(opened[0], "register", {}, "discipline.hf")
    rt = world.rt
    page_schema, task_schema = task_api.TaskPageSchema(), task_api.TaskDetailSchema()
    done_schema = task_api.CompletedSchema()
    assert all(compile_schema(s) for s in (page_schema, task_schema, done_schema))
    with rt.db.transaction() as session:
        clerk = access.principal_for(session, username="discipline.hf")
        for queue in ("role", "mine", "done"):
            page = views.queue_page(
                session, clerk, queues.Filters(queue=queue), clock=rt.clock, page=1, per_page=50
            )
            assert page_schema.dump(page) == _marshmallow(page_schema, page)
        detail = views.task_detail(
            session, clerk, world.task(opened[0], "investigate").id, clock=rt.clock
        )
        assert task_schema.dump(detail) == _marshmallow(task_schema, detail)
        result = complete(
            session,
            principal=clerk,
            task_id=world.task(opened[1], "register").id,
            data={},
            clock=rt.clock,
        )
        done = views.completed(session, clerk, result, clock=rt.clock)
        assert done.next_tasks  # the dump covers nested tasks
        assert done_schema.dump(done) == _marshmallow(done_schema, done)
