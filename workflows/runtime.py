"""The assembly: settings, database, clock, password hasher and the hook registry the domain
fills — built once by the app factory, the CLI, the scheduler and the tests alike. No Flask.

`transaction()` and `reading()` adopt the shared clock offset themselves (an adjustable
clock, moved by another process, is read before anything else in the transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from workflows import cases, official, tasks
from workflows.config import Settings
from workflows.engine import hooks, settings
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.tasks import outbox


def register_domain(registry: hooks.Registry) -> hooks.Registry:
    """Fills `registry` with every domain package's actions, listeners, rules and jobs."""
    cases.register(registry)
    tasks.register(registry)
    official.register(registry)
    return registry


class Runtime:
    """What every entry point needs. Parts may be given (tests); the rest come from
    `settings`, the database opened on first use."""

    def __init__(
        self,
        settings_: Settings | None = None,
        *,
        db: Database | None = None,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.settings = settings_ or Settings()
        self._db = db
        self.clock = clock or Clock(
            adjustable=self.settings.clock_adjustable, tz=self.settings.timezone
        )
        self.hasher = hasher or PasswordHasher()
        self.hooks = register_domain(hooks.REGISTRY)
        engine.set_step_limits(
            engine.StepLimits(seconds=self.settings.step_budget, tasks=self.settings.step_max_tasks)
        )
        outbox.configure(outbox.MailConfig.of(self.settings))

    @classmethod
    def from_env(cls) -> Runtime:
        """Everything from the environment (CADREFLOW_*, CLOCK_ADJUSTABLE)."""
        return cls(Settings())

    @property
    def db(self) -> Database:
        if self._db is None:
            url = self.settings.database_url
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self._db = Database(url)
        return self._db

    def close(self) -> None:
        """Closes the database's pooled connections, if the database was opened (a command
        that only validates files never opens it)."""
        if self._db is not None:
            self._db.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction on the shared clock: commits at the end, rolls back on error."""
        with self.db.transaction() as session:
            settings.sync_clock(session, self.clock)
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction on the shared clock."""
        with self.db.reading() as session:
            settings.sync_clock(session, self.clock)
            yield session
