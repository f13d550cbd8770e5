"""The `cadreflow` command line: each command owns its transaction.

Errors print one line (or one line per validation problem) and exit non-zero;
`--debug` shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from server.blacklist_cli import blacklist as blacklist_group
from server.cli_support import fail, handles_errors, json_option, pass_runtime
from server.demo_cli import demo as demo_group
from server.migration_cli import migrate_instances
from server.task_cli import task as task_group
from workflows.definitions import CLI_NOTE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflows import access
    from workflows.engine.clock import Clock
    from workflows.runtime import Runtime

# The command table imports only click: each command imports the domain it uses when it runs,
# so `cadreflow --help` answers at once and no command loads what only another needs (the web
# app for `serve`, alembic for `db upgrade`). The runtime is built by `pass_runtime`.


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """cadreflow: cadre accountability and tolerance case workflows."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_runtime
@handles_errors
def db_upgrade(rt: Runtime) -> None:
    """Apply all migrations."""
    from workflows import migrate

    _ = rt.db  # creates the SQLite folder
    migrate.upgrade(rt.settings.database_url)
    click.echo("database is up to date")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--user", default="cli", show_default=True)
@click.option(
    "--note",
    default=CLI_NOTE,
    show_default=True,
    help="版本说明 (change note, 1-500 characters) stored with each new version.",
)
@click.option("--strict", is_flag=True, help="Refuse warnings too (by default they are confirmed).")
@pass_runtime
@handles_errors
def deploy(rt: Runtime, paths: tuple[Path, ...], user: str, note: str, strict: bool) -> None:
    """Validate and deploy BPMN/DMN files or folders as new versions. Warnings are printed
    and confirmed by running the command, unless --strict."""
    from workflows.definitions import deployment

    files = deployment.collect(paths)
    with rt.transaction() as session:
        result = deployment.deploy(
            session,
            files=files,
            form_source=deployment.FormFolder(rt.settings.forms_dir),
            max_bytes=rt.settings.max_definition_bytes,
            actor=user,
            clock=rt.clock,
            note=note,
            confirm=not strict,
        )
    for problem in result.warnings:
        click.echo(f"warning {problem}")
    for key, version in result.deployed:
        click.echo(f"deployed {key} version {version}")
    for key, version in result.unchanged:
        click.echo(f"unchanged {key} version {version}")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_runtime
@handles_errors
def validate(rt: Runtime, paths: tuple[Path, ...]) -> None:
    """Run every deployment check without deploying."""
    from workflows.definitions import deployment
    from workflows.errors import DefinitionError

    files = deployment.collect(paths)
    checked = deployment.check(
        files,
        form_source=deployment.FormFolder(rt.settings.forms_dir),
        max_bytes=rt.settings.max_definition_bytes,
    )
    if checked.errors:
        raise DefinitionError(f"发现 {len(checked.errors)} 个错误", checked.problems)
    for problem in checked.warnings:
        click.echo(f"warning {problem}")
    for process in checked.processes:
        click.echo(f"ok {process.process_id} ({process.file.name})")
    for decision_id, source in checked.decisions:
        click.echo(f"ok {decision_id} ({source.name})")


@main.command()
@click.argument("process")
@click.option("--data", default="{}", help="Start data as a JSON object.")
@click.option("--org", "org_unit", default=None, help="Managing org unit of the case.")
@click.option("--user", default="cli", show_default=True)
@pass_runtime
@handles_errors
def start(rt: Runtime, process: str, data: str, org_unit: str | None, user: str) -> None:
    """Start an instance of the newest version of PROCESS."""
    from workflows.definitions import deployment
    from workflows.engine import instances

    payload = json_option(data, "data")
    with rt.transaction() as session:
        version = deployment.latest(session, process_key=process)
        instance = instances.start(
            session, version=version, data=payload, org_unit=org_unit, actor=user, clock=rt.clock
        )
        click.echo(
            f"started instance {instance.id} of {process} version {version.version} ({instance.status})"
        )


def _fmt(moment: datetime | None, clock: Clock) -> str:
    return moment.astimezone(clock.tz).strftime("%Y-%m-%d %H:%M") if moment else "-"


@main.command()
@click.option("--role", default=None)
@click.option("--org", "org_unit", default=None)
@click.option("--instance", "instance_id", type=int, default=None)
@click.option("--all", "show_all", is_flag=True, help="Include completed and cancelled tasks.")
@pass_runtime
@handles_errors
def tasks(
    rt: Runtime, role: str | None, org_unit: str | None, instance_id: int | None, show_all: bool
) -> None:
    """List human tasks, open ones by due date."""
    from workflows.tasks import views as task_views

    with rt.reading() as session:
        rows = task_views.task_list(
            session,
            clock=rt.clock,
            role=role,
            org_unit=org_unit,
            instance_id=instance_id,
            open_only=not show_all,
        )
        click.echo(
            f"{'id':>6}  {'instance':>8}  {'state':9}  {'role':12}  {'org':10}  {'due':16}  task"
        )
        for t in rows:
            overdue = " 逾期" if t.overdue else ""
            click.echo(
                f"{t.id:>6}  {t.instance_id:>8}  {t.state:9}  {t.role or '-':12}  "
                f"{t.org_unit or '-':10}  {_fmt(t.due_at, rt.clock):16}  {t.name} [{t.task_spec}]{overdue}"
            )


@main.command()
@click.argument("task_id", type=int)
@click.option("--data", default="{}", help="Form data as a JSON object.")
@click.option("--user", required=True)
@pass_runtime
@handles_errors
def complete(rt: Runtime, task_id: int, data: str, user: str) -> None:
    """Complete an open task with form data (validated against its form)."""
    from workflows.engine import instances

    payload = json_option(data, "data")
    with rt.transaction() as session:
        task = instances.complete_task(
            session, task_id=task_id, data=payload, actor=user, clock=rt.clock
        )
    click.echo(f"completed task {task_id}; instance {task.instance_id} is {task.instance_status}")


@main.command("instances")
@click.option("--status", default=None)
@pass_runtime
@handles_errors
def list_instances(rt: Runtime, status: str | None) -> None:
    """List process instances."""
    from sqlalchemy import select

    from workflows.engine.models import Instance

    query = select(Instance).order_by(Instance.id)
    if status:
        query = query.where(Instance.status == status)
    with rt.db.reading() as session:
        click.echo(f"{'id':>6}  {'process':24}  {'status':10}  {'org':10}  started")
        for i in session.execute(query).scalars():
            click.echo(
                f"{i.id:>6}  {i.process_key:24}  {i.status:10}  {i.org_unit or '-':10}  "
                f"{_fmt(i.started_at, rt.clock)}"
            )


@main.command()
@click.option("--once", is_flag=True, help="Fire what is due now, then exit.")
@click.option("--interval", type=float, default=None, help="Seconds between sweeps.")
@click.option("--batch", type=int, default=100, show_default=True)
@pass_runtime
@handles_errors
def scheduler(rt: Runtime, once: bool, interval: float | None, batch: int) -> None:
    """Fire due timers (every 5 s by default) until interrupted; with --once, fire what is due
    now — timers, then the periodic jobs (time-limit alarms, notices, e-mail) — and exit."""
    from workflows.engine import hooks, timers
    from workflows.engine import scheduler as scheduler_mod

    if once:
        lock = scheduler_mod.SingleSchedulerLock(rt.db.url)
        lock.acquire()
        try:
            fired = timers.sweep(rt.db, clock=rt.clock, batch=batch)
            done = [(job.name, job.run(rt.db, clock=rt.clock)) for job in hooks.REGISTRY.periodic]
        finally:
            lock.release()
        click.echo(f"fired {fired} timer(s)")
        for name, count in done:
            click.echo(f"{name}: {count}")
        return
    every = interval or rt.settings.scheduler_interval
    click.echo(f"scheduler running every {every:g}s on {rt.db.dialect}; Ctrl-C stops it")
    try:
        scheduler_mod.run_forever(rt.db, rt.clock, every)
    except (KeyboardInterrupt, SystemExit):
        pass


@main.group()
def clock() -> None:
    """Show or move the clock (moving needs CLOCK_ADJUSTABLE=1)."""


@clock.command("show")
@pass_runtime
@handles_errors
def clock_show(rt: Runtime) -> None:
    with rt.reading():
        pass  # adopts the shared clock offset
    click.echo(
        f"{rt.clock.now().astimezone(rt.clock.tz).isoformat(timespec='seconds')}"
        f" (offset {rt.clock.offset})"
    )


@clock.command("advance")
@click.argument("duration")
@pass_runtime
@handles_errors
def clock_advance(rt: Runtime, duration: str) -> None:
    """Move the clock forward, e.g. 31d, 12h, 2w."""
    from workflows.engine import audit, settings
    from workflows.engine.clock import parse_duration

    delta = parse_duration(duration)
    with rt.db.transaction() as session:
        moved = settings.move_clock(session, rt.clock, by=delta)
        audit.record(
            session,
            at=moved,
            actor="cli",
            action="clock.move",
            object_type="clock",
            object_id="clock",
            detail={"by": duration},
        )
    click.echo(f"clock is now {moved.astimezone(rt.clock.tz).isoformat(timespec='seconds')}")


@clock.command("set")
@click.argument("moment")
@pass_runtime
@handles_errors
def clock_set(rt: Runtime, moment: str) -> None:
    """Set the clock to a date (local midnight) or an ISO date-time."""
    from workflows.engine import audit, settings
    from workflows.errors import ValidationFailed

    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError as err:
        raise ValidationFailed(
            "moment not understood",
            [
                {
                    "field": "moment",
                    "message": "expected a date such as 2027-01-05 or an ISO date-time",
                }
            ],
        ) from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=rt.clock.tz)
    with rt.db.transaction() as session:
        moved = settings.move_clock(session, rt.clock, to=parsed)
        audit.record(
            session,
            at=moved,
            actor="cli",
            action="clock.move",
            object_type="clock",
            object_id="clock",
            detail={"to": moment},
        )
    click.echo(f"clock is now {moved.astimezone(rt.clock.tz).isoformat(timespec='seconds')}")


@main.group("audit")
def audit_group() -> None:
    """The audit trail."""


@audit_group.command("verify")
@pass_runtime
@handles_errors
def audit_verify(rt: Runtime) -> None:
    """Check the hash chain and that no change lacks its row; report the first problem."""
    from workflows.engine import audit

    with rt.db.reading() as session:
        result = audit.verify(session)
    if result.ok:
        click.echo(f"audit trail intact: {result.checked} row(s) verified")
        return
    if result.broken_at is None:
        fail(f"audit trail incomplete: {result.reason} ({result.checked} row(s) verified)")
    else:
        fail(
            f"audit trail broken at row {result.broken_at}: {result.reason} "
            f"({result.checked} row(s) before it verified)"
        )
    sys.exit(1)


@main.group()
def calendar() -> None:
    """Working-day calendar overrides for years chinesecalendar does not know."""


@calendar.command("declare-year")
@click.argument("year", type=int)
@click.option("--note", default="")
@pass_runtime
@handles_errors
def calendar_declare(rt: Runtime, year: int, note: str) -> None:
    """Declare YEAR known: days without an override follow Monday–Friday."""
    from workflows.engine import calendar_overrides

    with rt.transaction() as session:
        calendar_overrides.declare_year(session, year=year, note=note, actor="cli", clock=rt.clock)
    click.echo(f"year {year} declared")


@calendar.command("set-day")
@click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("kind", type=click.Choice(["workday", "holiday"]))
@click.option("--note", default="")
@pass_runtime
@handles_errors
def calendar_set_day(rt: Runtime, day: datetime, kind: str, note: str) -> None:
    """Mark DAY as a working day (调休) or a holiday."""
    from workflows.engine import calendar_overrides

    d: date = day.date()
    with rt.transaction() as session:
        calendar_overrides.set_day(
            session, day=d, is_workday=kind == "workday", note=note, actor="cli", clock=rt.clock
        )
    click.echo(f"{d} is a {kind}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-scheduler", is_flag=True, help="Do not fire timers in this process.")
@pass_runtime
@handles_errors
def serve(rt: Runtime, host: str, port: int, no_scheduler: bool) -> None:
    """Serve the web app (with the timer scheduler unless --no-scheduler)."""
    from server import create_app
    from workflows.engine import scheduler as scheduler_mod

    app = create_app(rt, serving=True)
    running = None
    if not no_scheduler:
        running = scheduler_mod.start_background(rt.db, rt.clock, rt.settings.scheduler_interval)
    try:
        app.run(host=host, port=port, use_reloader=False, threaded=True)
    finally:
        if running is not None:
            running[0].shutdown(wait=False)
            running[1].release()


@main.group()
def case() -> None:
    """Cases of the five processes."""


@case.command("open")
@click.argument("kind")
@click.option("--cadre", "cadre_id", type=int, default=None, help="The cadre concerned.")
@click.option("--person", default=None, help="A person who is not a cadre on record (an accuser).")
@click.option("--org", "org_unit", default=None, help="Org unit, when --person is given.")
@click.option("--title", default="")
@click.option("--data", default="{}", help="Start data as a JSON object.")
@click.option("--user", default="cli", show_default=True)
@pass_runtime
@handles_errors
def case_open(
    rt: Runtime,
    kind: str,
    cadre_id: int | None,
    person: str | None,
    org_unit: str | None,
    title: str,
    data: str,
    user: str,
) -> None:
    """Open a case of KIND (accountability, tolerance_review, rectification, clarification)."""
    from workflows.cases import service as cases

    payload = json_option(data, "data")
    with rt.transaction() as session:
        opened = cases.open_case(
            session,
            kind=kind,
            title=title or cases.KIND_NAMES.get(kind, kind),
            subject=cases.Subject(cadre_id=cadre_id, name=person, org_unit_code=org_unit),
            data=payload,
            actor=user,
            clock=rt.clock,
        )
        click.echo(f"opened {opened.number} (case {opened.id}, instance {opened.instance_id})")


@case.command("show")
@click.argument("number")
@click.option(
    "--user", default=None, help="Show it as this user sees it (default: every unit's view)."
)
@pass_runtime
@handles_errors
def case_show(rt: Runtime, number: str, user: str | None) -> None:
    """A case: status, outcome, open tasks with due dates, linked cases."""
    from workflows.cases import views as case_views
    from workflows.errors import NotFound

    with rt.reading() as session:
        principal = _reader(session, user)
        case_id = case_views.visible_case_id(session, principal=principal, number=number)
        if case_id is None:
            raise NotFound(f"案件 {number} 不存在")
        shown = case_views.case_detail(
            session, principal=principal, case_id=case_id, clock=rt.clock
        )
    click.echo(
        f"{shown.number}  {shown.kind_name}  {shown.subject_name}  {shown.org_unit}"
        f"  status={shown.status}  outcome={shown.outcome or '-'}"
    )
    for t in shown.tasks:
        click.echo(
            f"  task {t.id}: {t.name} [{t.role}] due {_fmt(t.due_at, rt.clock)}"
            f"{' (' + t.due_basis + ')' if t.due_basis else ''}"
        )
    for link in shown.links:
        arrow = "→" if link.direction == "to" else "←"
        click.echo(f"  {arrow} {link.kind}: {link.number} ({link.status})")


def _reader(session: Session, user: str | None) -> access.Principal:
    """The principal a show command reads as: the named user, else the operator (every unit)."""
    from workflows import access
    from workflows.org import admin

    return access.principal_for(session, username=user) if user else admin.operator(session)


@main.group()
def cadre() -> None:
    """Cadre records."""


@cadre.command("show")
@click.argument("cadre_id", type=int)
@click.option(
    "--user", default=None, help="Show it as this user sees it (default: every unit's view)."
)
@pass_runtime
@handles_errors
def cadre_show(rt: Runtime, cadre_id: int, user: str | None) -> None:
    """A cadre's record: post, managing unit, promotion bans and tolerance notes (§6, §12)."""
    from workflows.cadres import views as cadre_views

    with rt.reading() as session:
        record = cadre_views.cadre_record(
            session,
            principal=_reader(session, user),
            cadre_id=cadre_id,
            today=rt.clock.today(),
            now=rt.clock.now(),
        )
    click.echo(f"{record.name}  {record.post}  managed by {record.org_unit}")
    for ban in record.bans:
        click.echo(
            f"  promotion ban ({ban.adjustment_name}): {ban.starts_on} – {ban.ends_on}  {ban.status}"
        )
    for note in record.tolerance_notes:
        click.echo(f"  tolerance: {note.case_number} {note.outcome_name} on {note.decided_on}")


@cadre.command("eligibility")
@click.argument("cadre_id", type=int)
@click.option(
    "--on",
    "on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date to check (default: today).",
)
@pass_runtime
@handles_errors
def cadre_eligibility(rt: Runtime, cadre_id: int, on: datetime | None) -> None:
    """Eligible for promotion on a date, or not until when and because of which case."""
    from workflows.cadres import service as cadres

    with rt.reading() as session:
        day = on.date() if on else rt.clock.today()
        answer = cadres.eligibility(session, cadre_id=cadre_id, on=day)
    if answer.eligible:
        click.echo(f"cadre {cadre_id} is eligible for promotion on {day}")
    else:
        click.echo(
            f"cadre {cadre_id} is not eligible until {answer.until} because of case "
            f"{answer.case_number}: {answer.reason}"
        )


main.add_command(blacklist_group)
main.add_command(demo_group)
main.add_command(task_group)
main.add_command(migrate_instances)
