"""`cadreflow demo load`: the demo org units, users, cadres and cases (workflows/demo.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from server.cli_support import handles_errors, pass_runtime

if TYPE_CHECKING:
    from workflows.runtime import Runtime


@click.group()
def demo() -> None:
    """Demo data for trying cadreflow out (never on a production database)."""


@demo.command("load")
@pass_runtime
@handles_errors
def demo_load(rt: Runtime) -> None:
    """Load the demo data once; loading again adds nothing already there."""
    from workflows import demo as demo_data

    result = demo_data.load(rt.db, rt.clock, hasher=rt.hasher, echo=click.echo)
    if result.nothing_new:
        click.echo("demo data already loaded")
    else:
        click.echo(
            f"demo users: <role>.<unit> (e.g. discipline.ah-hf) and the cadres; "
            f"password {demo_data.PASSWORD}"
        )
