"""Layering rules of ARCHITECTURE.md, read off the import statements with `ast`.

- workflows/ (engine and domain) imports no Flask, no marshmallow and nothing of server/.
- Only workflows/engine/spiff.py imports SpiffWorkflow (in workflows/, server/ and bench/).
- The engine core (workflows/engine/) imports nothing of the domain: only itself, the
  shared errors and config. The domain plugs in through the hook registry.
- One import style: workflows/ uses absolute imports only.
- The pages (server/ui/) never import the API (server/api/).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENGINE = ROOT / "workflows" / "engine" / "spiff.py"
#: What the engine core may import of workflows/: itself, the error types, the settings and the
#: translatable message marker (workflows/messages.py, which imports nothing of the domain).
ENGINE_ALLOWED = ("workflows.engine", "workflows.errors", "workflows.config", "workflows.messages")
WEB_ONLY = {"flask", "marshmallow", "server"}


def modules_under(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def imports_in(source: str, module_path: str) -> list[tuple[int, str]]:
    """(line, absolute dotted module) of every import; relative ones resolved.

    `module_path` is the file's path below the project root, e.g. 'workflows/engine/spiff.py'."""
    package = list(Path(module_path).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename=module_path)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            prefix = ".".join(base + ([node.module] if node.module else []))
            if node.module:
                found.append((node.lineno, prefix))
            else:  # `from .. import x`: x may itself be a module
                found.extend(
                    (node.lineno, f"{prefix}.{alias.name}".lstrip(".")) for alias in node.names
                )
    return found


def imports_of(path: Path) -> list[tuple[int, str]]:
    return imports_in(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())


def top(module: str) -> str:
    return module.split(".")[0].lower()


def offenders(paths: list[Path], forbidden: set[str]) -> list[str]:
    return [
        f"{p.relative_to(ROOT)}:{line}: imports {module}"
        for p in paths
        for line, module in imports_of(p)
        if top(module) in forbidden
    ]


def test_the_import_reader_sees_the_imports_of_the_engine() -> None:
    modules = [module for _, module in imports_of(ENGINE)]
    assert any(top(m) == "spiffworkflow" for m in modules)
    assert "workflows.engine" in modules  # from workflows.engine import expressions
    assert "workflows.errors" in modules


def test_the_import_reader_resolves_relative_imports_that_leave_the_package() -> None:
    source = (
        "from .. import server\nfrom ..server.cli import main\nimport flask.json\n"
        "from marshmallow import Schema\nfrom . import db\n"
        "def f():\n    from SpiffWorkflow.bpmn import workflow\n"
    )
    modules = [module for _, module in imports_in(source, "workflows/sample.py")]
    assert modules.count("server") == 1 and "server.cli" in modules
    assert {"flask.json", "marshmallow", "workflows.db", "SpiffWorkflow.bpmn"} <= set(modules)


def test_workflows_imports_no_flask_marshmallow_or_server() -> None:
    paths = modules_under("workflows")
    assert ENGINE in paths
    assert offenders(paths, WEB_ONLY) == []


def test_only_the_engine_module_imports_spiffworkflow() -> None:
    paths = [p for p in modules_under("workflows", "server", "bench") if p != ENGINE]
    assert ROOT / "server" / "cli.py" in paths
    assert offenders(paths, {"spiffworkflow"}) == []


def test_the_engine_core_imports_no_domain_package() -> None:
    paths = modules_under("workflows/engine")
    assert ROOT / "workflows" / "engine" / "instances.py" in paths
    found = [
        f"{p.relative_to(ROOT)}:{line}: imports {module}"
        for p in paths
        for line, module in imports_of(p)
        if top(module) == "workflows" and not module.startswith(ENGINE_ALLOWED)
    ]
    assert found == []


def test_workflows_uses_absolute_imports_only() -> None:
    relative = [
        f"{p.relative_to(ROOT)}:{node.lineno}"
        for p in modules_under("workflows")
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert relative == []


def api_imports(source: str, module_path: str) -> list[int]:
    """The lines of `source` that import server.api or a module of it (`from server import
    api` too, which the import reader records as importing `server`)."""
    lines = [
        line
        for line, module in imports_in(source, module_path)
        if module == "server.api" or module.startswith("server.api.")
    ]
    lines += [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
        and not node.level
        and node.module == "server"
        and any(alias.name == "api" for alias in node.names)
    ]
    return sorted(lines)


def test_the_api_import_finder_sees_every_form() -> None:
    source = (
        "from server.api.tasks import TaskSchema\nimport server.api\nfrom server import api, auth\n"
        "from server import auth\nfrom server.transfer import read_file\n"
    )
    assert api_imports(source, "server/ui/sample.py") == [1, 2, 3]


def test_the_pages_never_import_the_api() -> None:
    """server/ui renders the domain's views; what it shares with server/api (uploads and
    downloads, argument schemas) lives in server/ itself, never in the API's modules."""
    paths = modules_under("server/ui")
    assert ROOT / "server" / "ui" / "inbox.py" in paths
    found = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in paths
        for line in api_imports(p.read_text(encoding="utf-8"), p.relative_to(ROOT).as_posix())
    ]
    assert found == []


# -- Hot-path SQL: statements run on the driver's cursor stay fenced -------------------------

PREPARED = "workflows.engine.prepared"
#: The modules that may import workflows/engine/prepared.py: those that define its statements
#: (tests/engine/test_prepared.py runs each against SQLAlchemy's own execution), the hook registry
#: that carries the domain's reads made with a completion's lock (their types only), and the
#: benchmarks that measure them (docs/performance.md, "Prepared statements" and "The HTTP
#: server"). Nothing else in workflows/, server/ or bench/.
PREPARED_IMPORTERS = frozenset(
    {
        "workflows/access.py",
        "workflows/engine/audit.py",
        "workflows/engine/hooks.py",
        "workflows/engine/instances.py",
        "workflows/engine/projections.py",
        "workflows/org/auth.py",
        "workflows/org/people.py",
        "workflows/tasks/completion.py",
        "workflows/tasks/consultations.py",
        "workflows/tasks/drafts.py",
        "bench/prepared_ab.py",
        "bench/reads_with_lock_ab.py",
    }
)


def imports_prepared(source: str) -> bool:
    """Whether `source` imports the prepared-statement module, in any spelling (absolute
    imports only: workflows/ uses no other kind)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import) and any(
            a.name == PREPARED or a.name.startswith(f"{PREPARED}.") for a in node.names
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and (
                node.module == PREPARED
                or (
                    node.module == "workflows.engine"
                    and any(a.name == "prepared" for a in node.names)
                )
            )
        ):
            return True
    return False


def test_the_prepared_import_reader_sees_every_spelling() -> None:
    assert imports_prepared("from workflows.engine.prepared import Prepared\n")
    assert imports_prepared("from workflows.engine import audit, prepared\n")
    assert imports_prepared("import workflows.engine.prepared as p\n")
    assert imports_prepared("def f():\n    from workflows.engine.prepared import REGISTRY\n")
    assert not imports_prepared("from workflows.engine import projections\n")


def test_only_the_hot_path_modules_import_prepared_statements() -> None:
    found = {
        p.relative_to(ROOT).as_posix()
        for p in modules_under("workflows", "server", "bench")
        if imports_prepared(p.read_text(encoding="utf-8"))
    }
    assert found - {"workflows/engine/prepared.py"} == PREPARED_IMPORTERS


# -- server/ composes no SQL: handlers call the domain's views and services -----------------

#: The modules of server/ that still build statements themselves, each with its reason; any
#: other may import from SQLAlchemy only the `Session` type.
COMPOSES_SQL_FOR_NOW = frozenset(
    {
        "server/__init__.py",  # the health probe's SELECT 1
        "server/cli.py",  # `cadreflow instances` lists the engine's instance rows directly
    }
)


def sql_imports(source: str) -> list[int]:
    """The lines of `source` that import SQLAlchemy for anything but the `Session` type."""

    def builds_sql(node: ast.AST) -> bool:
        if isinstance(node, ast.Import):
            return any(top(alias.name) == "sqlalchemy" for alias in node.names)
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            session_only = node.module == "sqlalchemy.orm" and all(
                alias.name == "Session" for alias in node.names
            )
            return top(node.module) == "sqlalchemy" and not session_only
        return False

    return sorted(node.lineno for node in ast.walk(ast.parse(source)) if builds_sql(node))


def test_the_sql_import_reader_lets_only_the_session_type_through() -> None:
    source = (
        "from sqlalchemy.orm import Session\nfrom sqlalchemy import select\nimport sqlalchemy\n"
        "from sqlalchemy.orm import Session, aliased\n"
        "def f():\n    from sqlalchemy import func\n"
    )
    assert sql_imports(source) == [2, 3, 4, 6]


def test_server_composes_no_sql() -> None:
    """server/ dumps, renders and prints the domain's views: a query, with the principal's
    scope, belongs in workflows/ (a view or a service), never in an HTTP handler."""
    paths = modules_under("server")
    assert ROOT / "server" / "ui" / "case_pages.py" in paths
    found = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in paths
        if p.relative_to(ROOT).as_posix() not in COMPOSES_SQL_FOR_NOW
        for line in sql_imports(p.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_command_modules_import_the_shared_support_not_each_other() -> None:
    """server/cli.py adds the other command groups to `main`; they never import it back."""
    commands = [
        ROOT / "server" / name for name in ("demo_cli.py", "blacklist_cli.py", "cli_support.py")
    ]
    found = [
        f"{p.relative_to(ROOT)}:{line}: imports {module}"
        for p in commands
        for line, module in imports_of(p)
        if module == "server.cli"
    ]
    assert found == []
