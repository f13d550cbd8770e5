"""The README's API examples run as written, on the demo `make run` loads: the `signin`, `get`
and `send` lines of its blocks are read from README.md and sent in order; each answers with the
status its annotation names (`→ 409 …`; 2xx where none is named), and every `"id"`, `"task_id"`,
`"case_id"` and count (`"total"`, `"unread"`, `"marked"`) an annotation shows is carried
somewhere in the answer. So the ids a reader copies from the README (case 9, task 26, …) are
those a fresh demo gives."""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api.test_documents import tiny_pdf
from tests.support.apps import app_for
from tests.support.world import load_demo
from workflows import demo
from workflows.engine import hooks, timers
from workflows.runtime import Runtime

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
_STATUS = re.compile(r"→ (\d{3})\b")
_KEYS = ("id", "task_id", "case_id", "total", "unread", "marked")
_KEYED = re.compile('"(' + "|".join(_KEYS) + r')": (\d+)')
_API = "/api/v1"
_CAPTURE = re.compile(r"^(\w+)=\$\(curl$")  # NAME=$(curl … | python3 -c '…["id"]'): keeps the id


def blocks(heading: str) -> list[str]:
    """The sh blocks of the README section that starts with `heading`."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{heading}") + 1
    end = re.search(r"\n#{2,4} ", text[start + len(heading) :])
    section = text[start : start + len(heading) + (end.start() if end else len(text))]
    return _BLOCK.findall(section)


@dataclass
class Command:
    words: list[str]
    note: str  # the comments that follow it: its annotation
    line: str


def commands(block: str) -> Iterator[Command]:
    """The block's helper calls, each with the comment lines after it (a JSON body may run on
    over several lines)."""
    found: list[Command] = []
    pending = ""
    for raw in block.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            if found:
                found[-1].note += "\n" + stripped
            continue
        pending = f"{pending}\n{raw}" if pending else raw
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quoted body goes on on the next line
            continue
        found.append(Command(words, _inline_comment(pending), pending))
        pending = ""
    helpers = ("signin", "get", "send", "curl")
    return iter(
        c for c in found if c.words and (c.words[0] in helpers or _CAPTURE.match(c.words[0]))
    )


def _inline_comment(line: str) -> str:
    """What follows the first `#` that starts a word outside quotes (the shell's comment)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i + 1 :]
    return ""


@dataclass
class Reader:
    """The README's three helpers over Flask's client: one session per signed-in user."""

    app: Flask
    today: str
    week: str
    client: FlaskClient | None = None
    csrf: str = ""
    log: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # the shell variables a block set

    def run(self, block: str) -> None:
        for command in commands(block):
            verb, *args = [self.expand(word) for word in command.words]
            captured = _CAPTURE.match(verb)
            if captured:  # an upload whose id the block keeps in a variable
                status, answer = self.curl(args[: args.index("|")])
                self.check(command, status, answer)
                self.kept[captured.group(1)] = str(answer["id"])
                continue
            if verb == "signin":
                self.signin(args[0])
                continue
            if verb == "curl" and "-F" not in args and "-OJ" not in args:
                continue  # the bearer token's example: its secret is not in the README
            if verb == "curl":
                status, answer = self.curl(args)
            else:
                status, answer = self.get(*args) if verb == "get" else self.send(*args)
            self.check(command, status, answer)

    def expand(self, word: str) -> str:
        for name, value in self.kept.items():
            word = word.replace(f"${name}", value)
        return word

    def signin(self, username: str) -> None:
        self.client = self.app.test_client()
        answer = self.client.post(
            f"{_API}/auth/login", json={"username": username, "password": demo.PASSWORD}
        )
        assert answer.status_code == 200, (username, answer.get_json())
        self.csrf = answer.get_json()["csrf_token"]

    def get(self, path: str, *options: str) -> tuple[int, Any]:
        assert self.client is not None
        pairs = [tuple(options[i + 1].split("=", 1)) for i in range(0, len(options), 2)]
        query = ("&" if "?" in path else "?") + urlencode(pairs) if pairs else ""
        answer = self.client.get(f"{_API}{path}{query}")
        return answer.status_code, answer.get_json(silent=True)

    def send(self, method: str, path: str, body: str = "{}") -> tuple[int, Any]:
        assert self.client is not None
        data = json.loads(body.replace("$TODAY", self.today).replace("$WEEK", self.week))
        answer = self.client.open(
            f"{_API}{path}", method=method, json=data, headers={"X-CSRF-Token": self.csrf}
        )
        return answer.status_code, answer.get_json(silent=True)

    def curl(self, args: list[str]) -> tuple[int, Any]:
        """An upload (`-F field=value`, `file=@name`: a small PDF of that name) or a download
        (`-OJ`), as the README's curl lines send them."""
        assert self.client is not None
        path = args[-1].removeprefix("$API")
        if "-OJ" in args:
            answer = self.client.get(f"{_API}{path}")
            assert answer.headers.get("Content-Disposition", "").startswith("attachment")
            return answer.status_code, None
        form: dict[str, Any] = {}
        for i, word in enumerate(args[:-1]):
            if word == "-F":
                name, _, value = args[i + 1].partition("=")
                form[name] = (io.BytesIO(tiny_pdf()), value[1:]) if value[:1] == "@" else value
        answer = self.client.post(f"{_API}{path}", data=form, headers={"X-CSRF-Token": self.csrf})
        return answer.status_code, answer.get_json(silent=True)

    def check(self, command: Command, status: int, answer: Any) -> None:
        where = f"README: {command.line.strip()[:120]}"
        named = _STATUS.search(command.note)
        if named:
            assert status == int(named.group(1)), (where, status, answer)
        else:
            assert 200 <= status < 300, (where, status, answer)
        carried = set(_keyed_values(answer))
        for key, value in _KEYED.findall(command.note):
            assert (key, int(value)) in carried, (where, f'"{key}": {value}', answer)
        self.log.append(where)


def _keyed_values(value: Any) -> Iterator[tuple[str, int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _KEYS and isinstance(item, int) and not isinstance(item, bool):
                yield key, item
            yield from _keyed_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keyed_values(item)


@pytest.fixture
def reader(rt: Runtime) -> Reader:
    """The demo as a fresh `make run` serves it: loaded, then its scheduler's first pass (due
    timers, then the periodic jobs: time-limit alarms, notices), as `cadreflow scheduler --once`."""
    loaded = load_demo(rt)
    assert "accountability_decided" in loaded.loaded, loaded.skipped
    timers.sweep(rt.db, clock=rt.clock)
    for job in hooks.REGISTRY.periodic:
        job.run(rt.db, clock=rt.clock)
    today = rt.clock.today()
    return Reader(app_for(rt), today.isoformat(), (today + timedelta(days=7)).isoformat())


WALKTHROUGH = "#### Clerks: a case from opening to its end"


def _calls(block: str) -> int:
    """How many `get`, `send` and file `curl` lines the block has, counted without the parser."""
    return sum(
        line.lstrip().startswith(("get ", "send ", "curl -s -b"))
        or bool(_CAPTURE.match(line.split(" ")[0]))
        for line in block.splitlines()
    )


def test_the_readmes_blocks_run_in_order_on_a_fresh_demo(reader: Reader) -> None:
    run = [
        blocks("#### Signing in: sessions and tokens")[0],
        blocks(WALKTHROUGH)[0],
        *blocks("#### Cadres: 我的案件, appeals and exemption applications"),
        *blocks("#### Clerks: opening the other kinds of case"),
        blocks("#### Clerks: working on a task")[0],
        blocks("#### Clerks: 加签与抄送 (asking colleagues for opinions, copying them)")[0],
        blocks("#### Case documents (案件材料)")[0],
        *blocks("#### Cadre records and the blacklist"),
        blocks("#### Supervisors: 督查 and 催办")[0],
        blocks("#### Everyone: notifications")[0],
        blocks(
            "#### Administrators: users, units, calendar, deadlines, the clock, the audit trail"
        )[0],
    ]
    for block in run:
        reader.run(block)
    assert len(reader.log) == sum(_calls(block) for block in run) > 40  # every one was checked


def _before_the_decision() -> str:
    walkthrough = blocks(WALKTHROUGH)[0]
    return walkthrough[: walkthrough.index("signin committee.ah-hf")]


def test_the_return_example_runs_on_the_walkthroughs_case_at_its_decision(reader: Reader) -> None:
    reader.run(_before_the_decision())
    returning = blocks("#### Clerks: 退回 and 撤回 (sending a case back, taking a step back)")[0]
    reader.run(returning[: returning.index("# 撤回 instead of the return")])
    assert any("/return" in line for line in reader.log)


def test_the_withdrawal_example_runs_on_the_walkthroughs_case_at_its_decision(
    reader: Reader,
) -> None:
    reader.run(_before_the_decision())
    returning = blocks("#### Clerks: 退回 and 撤回 (sending a case back, taking a step back)")[0]
    reader.run("signin discipline.ah-hf\n" + returning[returning.index("# 撤回 instead") :])
    assert any("/withdraw" in line for line in reader.log)
