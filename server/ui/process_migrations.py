"""迁移运行中的案件: the designer's page under a process — choose two versions, see per
instance whether it can move and why not (预检), move the movable ones, revert a move.

The rules are the domain's (workflows/definitions/migrations.py); refusals of bad
versions are worded beside their field, a refused revert at the top of the page."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_babel import gettext as _

from server import auth
from server.errors import said
from server.ui import form_errors
from server.ui.common import bp, redirect_with
from workflows.definitions import catalog, migrations
from workflows.errors import Conflict, NotFound, ValidationFailed


def _number(text: str | None) -> int:
    """A version number typed or posted; 0 (no such version) for anything else."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else 0


def _defaults(found: catalog.ProcessInfo) -> tuple[int, int]:
    """From the oldest version with running cases (older than the latest) to the latest."""
    latest = found.latest.version
    older = sorted(v.version for v in found.versions if v.running and v.version < latest)
    return (older[0] if older else max(latest - 1, 1)), latest


def _page(key: str, *, chosen: tuple[int, int] | None, errors: dict[str, str], status: int) -> Any:
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        found = catalog.process(session, principal=principal, key=key)
        from_version, to_version = chosen or _defaults(found)
        plans: list[migrations.InstancePlan] | None = None
        if not errors.keys() & {"from_version", "to_version"} and len(found.versions) > 1:
            try:
                plans = migrations.dry_run(
                    session,
                    principal=principal,
                    key=key,
                    from_version=from_version,
                    to_version=to_version,
                    clock=rt.clock,
                )
            except ValidationFailed as err:
                errors = {e["field"]: said(e["message"]) for e in err.errors}
                status = 422
        done = migrations.history(session, principal=principal, key=key)  # designers only
    return render_template(
        "process_migrations.html",
        process=found,
        from_version=from_version,
        to_version=to_version,
        plans=plans,
        movable=[p for p in plans or [] if p.can_migrate],
        history=done,
        errors=errors,
    ), status


@bp.get("/processes/<string:key>/migrations")
def process_migrations(key: str) -> Any:
    """The dry run (预检) between the chosen versions, and the moves made so far."""
    chosen = None
    if "from_version" in request.args or "to_version" in request.args:
        chosen = (
            _number(request.args.get("from_version")),
            _number(request.args.get("to_version")),
        )
    return _page(key, chosen=chosen, errors={}, status=200)


@bp.post("/processes/<string:key>/migrations")
def process_migrate(key: str) -> Any:
    """迁移: move the instances ticked on the dry run (those that can move) to the target."""
    form_errors.require_token()
    rt = auth.runtime()
    chosen = (_number(request.form.get("from_version")), _number(request.form.get("to_version")))
    ids = [_number(v) for v in request.form.getlist("instance_id")[:1000]]
    if not ids:
        errors = {"instance_id": _("请至少勾选一个可迁移的案件")}
        return _page(key, chosen=chosen, errors=errors, status=422)
    try:
        with auth.writing() as (session, principal):
            result = migrations.migrate(
                session,
                principal=principal,
                key=key,
                from_version=chosen[0],
                to_version=chosen[1],
                instance_ids=ids,
                clock=rt.clock,
            )
    except ValidationFailed as err:
        errors = {e["field"]: said(e["message"]) for e in err.errors}
        return _page(key, chosen=chosen, errors=errors, status=422)
    message = _(
        "已迁移 %(moved)d 个案件到第 %(to)d 版，%(refused)d 个未迁移",
        moved=len(result.moved),
        to=chosen[1],
        refused=len(result.refused),
    )
    target = url_for("ui.process_migrations", key=key, from_version=chosen[0], to_version=chosen[1])
    return redirect_with(target, message, "success" if result.moved else "error")


@bp.post("/processes/<string:key>/migrations/<int:migration_id>/revert")
def process_migration_revert(key: str, migration_id: int) -> Any:
    """撤销迁移: one instance back to its version and state before the move."""
    form_errors.require_token()
    rt = auth.runtime()
    instance_id = _number(request.form.get("instance_id"))
    target = url_for("ui.process_migrations", key=key)
    try:
        with auth.writing() as (session, principal):
            view = migrations.revert(
                session,
                principal=principal,
                instance_id=instance_id,
                migration_id=migration_id,
                clock=rt.clock,
            )
    except (Conflict, NotFound) as err:
        return redirect_with(target, said(err.message), "error")
    return redirect_with(
        target,
        _("已撤销迁移：案件回到第 %(n)d 版", n=view.from_version),
        "success",
    )
