"""Messages for people, said in Chinese here and in another language by the web layer.

`t("任务 %(id)s 不存在", id=task_id)` is the Chinese text itself (a `str`: logs, the command
line and tests read it as it is), and it keeps its msgid and values so that server/ can look
the msgid up in the English catalog and put the values in (server/errors.py `said`).
`make messages` extracts every `t("…")` in workflows/ (server/ui/babel.cfg). Values that are
messages themselves, or names the catalog knows, are said in the same language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self


class Message(str):
    """A Chinese text that remembers the msgid and values it was made from."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Self:
        made = super().__new__(cls, msgid % params if params else msgid)
        made.msgid = msgid
        made.params = params
        return made

    def said(self, translate: Callable[[str], str]) -> str:
        """The text in the language `translate` gives a msgid (values that are messages too)."""
        worded = translate(self.msgid)
        if not self.params:
            return worded
        values = {name: _said(value, translate) for name, value in self.params.items()}
        return worded % values


def t(msgid: str, /, **params: Any) -> Message:
    """A message for people: `msgid` in Chinese with %(name)s for each value."""
    return Message(msgid, **params)


def _said(value: Any, translate: Callable[[str], str]) -> Any:
    """A value put into a message: a message or a text (a process's name, a role's) in the
    language of `translate` where the catalog knows it; anything else as it is."""
    if isinstance(value, Message):
        return value.said(translate)
    return translate(value) if isinstance(value, str) and value else value


def said(message: str, translate: Callable[[str], str]) -> str:
    """Any message in the language of `translate`: a `Message` by its msgid and values, a
    plain text as a msgid of its own (a text the catalog lacks stays as it is)."""
    if isinstance(message, Message):
        return message.said(translate)
    return translate(message) if message else message
