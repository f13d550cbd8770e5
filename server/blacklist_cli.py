"""`cadreflow blacklist correct`: correct (更正) an entry of the dishonesty blacklist from the
command line, acting as a named organization clerk under the same rules as the API and the
pages (workflows/cases/blacklist.py): the clerk's jurisdiction, a reason and a reviewer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from server.cli_support import handles_errors, pass_runtime

if TYPE_CHECKING:
    from workflows.cases.blacklist_views import EntryView
    from workflows.runtime import Runtime


@click.group()
def blacklist() -> None:
    """The dishonesty blacklist (失信黑名单): entries are never changed; a correction is a new entry."""


@blacklist.command("correct")
@click.argument("entry_id", type=int)
@click.option("--user", required=True, help="The organization clerk correcting (username).")
@click.option(
    "--reviewer",
    required=True,
    help="The reviewer (审核人): username of an organization or "
    "discipline user of the basis case's unit, not the clerk.",
)
@click.option("--reason", required=True, help="Why the entry is corrected (更正理由).")
@click.option("--person-name", default=None, help="The corrected name.")
@click.option(
    "--basis-case", default=None, help="The corrected basis case, by number (e.g. CQ-2026-000001)."
)
@click.option(
    "--entered-on",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The corrected listing date.",
)
@click.option("--listing-reason", default=None, help="The corrected reason for listing (列入理由).")
@pass_runtime
@handles_errors
def blacklist_correct(
    rt: Runtime,
    entry_id: int,
    user: str,
    reviewer: str,
    reason: str,
    person_name: str | None,
    basis_case: str | None,
    entered_on: datetime | None,
    listing_reason: str | None,
) -> None:
    """Correct entry ENTRY_ID: a new entry with the corrected fields supersedes it; the original
    stays on the register, marked corrected."""
    from workflows import access
    from workflows.cases import blacklist as entries
    from workflows.cases import blacklist_views
    from workflows.cases import service as cases
    from workflows.errors import NotFound, ValidationFailed

    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        basis_case_id = None
        if basis_case is not None:
            try:
                basis_case_id = cases.by_number(session, basis_case.strip()).id
            except NotFound:
                raise ValidationFailed(
                    f"no case {basis_case}",
                    [
                        {
                            "field": "basis_case",
                            "message": (f"{entries.RULE_BASIS}：案件 {basis_case} 不存在"),
                        }
                    ],
                ) from None
        changes = entries.Changes(
            person_name=person_name,
            basis_case_id=basis_case_id,
            entered_on=entered_on.date() if entered_on else None,
            listing_reason=listing_reason,
        )
        created = entries.correct_entry(
            session,
            principal=principal,
            entry_id=entry_id,
            reviewer=reviewer,
            reason=reason,
            changes=changes,
            clock=rt.clock,
        )
        new = blacklist_views.entry(session, principal=principal, entry_id=created.id)
        old = blacklist_views.entry(session, principal=principal, entry_id=entry_id)
    click.echo(f"corrected entry {old.id} ({old.status_name}); the correction is entry {new.id}:")
    click.echo(_line(new))
    click.echo(f"  reason: {new.correction_reason}")


def _line(view: EntryView) -> str:
    return (
        f"  {view.id}  {view.person_name}  basis {view.basis_case_number}  entered {view.entered_on}  "
        f"reviewer {view.reviewer_name}  {view.status_name}  listed because: {view.reason}"
    )
