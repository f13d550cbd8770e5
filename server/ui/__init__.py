"""Pages for people: server-rendered Jinja with htmx for in-place updates, zh-CN by default.

Every page handler reaches the database through `server.auth.reading()/writing()`, as
the API does; a caller who is not logged in is sent to the login page (errors.py).
Templates extend `base.html`; see docs/design.md's "Web pages" section for the blocks and helpers.
"""

from __future__ import annotations

from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from server.ui import (
    admin_audit,
    admin_calendar,
    admin_calendar_changes,
    admin_mail,
    admin_users,
    blacklist,
    cadres,
    case_new,
    case_pages,
    consult_pages,
    designer,
    documents,
    due_basis,
    errors,
    export,
    form_designer,
    i18n,
    inbox,
    incidents,
    layout,
    my_cases,
    notices,
    official_documents,
    process_migrations,
    sign_in,
    supervision,
    task_going_back,
    task_page,
)
from server.ui.common import bp

#: The modules whose routes and hooks are on the blueprint (imported for that).
PAGES = (
    consult_pages,
    errors,
    export,
    inbox,
    layout,
    my_cases,
    notices,
    sign_in,
    supervision,
    admin_audit,
    admin_calendar,
    admin_calendar_changes,
    admin_mail,
    admin_users,
    designer,
    form_designer,
    process_migrations,
    case_pages,
    case_new,
    task_page,
    task_going_back,
    documents,
    official_documents,
    cadres,
    blacklist,
    incidents,
)


class _CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory for every app of the process. A server has one app;
    a test run creates one per test, and each would compile every template it renders again
    (a sixth of a page test's time). Jinja keys a template by name and checks its source's
    checksum, so an edited template is compiled anew."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def init_app(app: Flask) -> None:
    app.jinja_env.bytecode_cache = _COMPILED
    i18n.init_app(app)
    # 期限如何计算: a step's stored due basis in the page's language.
    app.jinja_env.filters["due_basis"] = due_basis.worded
    app.register_blueprint(bp)
