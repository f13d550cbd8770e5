"""What every command module shares: the runtime passed to commands, one-line errors, JSON
options. The command modules import this, never each other's commands (server/cli.py adds
their groups to `main`)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from functools import update_wrapper, wraps
from typing import Any, TypeVar

import click

from workflows.errors import DefinitionError, DomainError, ValidationFailed

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)


def handles_errors(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = click.get_current_context().find_root().params.get("debug", False)
        try:
            return fn(*args, **kwargs)
        except DefinitionError as err:
            if debug:
                raise
            fail(err.message)
            for problem in err.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        except ValidationFailed as err:
            if debug:
                raise
            fail(re.split("[:：]", err.message, maxsplit=1)[0])  # the fields follow
            for item in err.errors:
                click.echo(f"  {item['field']}: {item['message']}", err=True)
            sys.exit(1)
        except DomainError as err:
            if debug:
                raise
            fail(err.message)
            sys.exit(1)
        except Exception as err:
            if debug:
                raise
            fail(f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def json_option(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValidationFailed(
            f"--{field} is not valid JSON",
            [{"field": field, "message": f"not valid JSON: {err.msg} at column {err.colno}"}],
        ) from err


def pass_runtime(fn: F) -> F:
    """Hands the command the Runtime built from the environment (CADREFLOW_*, CLOCK_ADJUSTABLE),
    one per invocation, its connections closed when the command ends. Built here, when a
    command runs, not by `main`: `--help` and a group's own help then load no domain at all."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from workflows.runtime import Runtime

        root = click.get_current_context().find_root()
        if not isinstance(root.obj, Runtime):
            root.obj = Runtime.from_env()
            root.call_on_close(root.obj.close)
        return click.get_current_context().invoke(fn, root.obj, *args, **kwargs)

    return update_wrapper(wrapper, fn)  # type: ignore[return-value]
