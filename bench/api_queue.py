"""A clerk's queue in a large PostgreSQL database (bench/api_complete.py, part 3).

`cases` open accountability cases with ten task rows each (nine completed, one open; a
quarter have a second open task, as in the parallel investigate / consider-tolerance
branch), spread over 20 org units and the five lane roles, seeded with
INSERT … SELECT generate_series straight into cadre / instance / case_file / human_task
(instance state is a placeholder: these instances are only listed, never advanced).
One unit in eight is 合肥市 (ah-hf), whose discipline clerk is measured: their role queue
holds a few thousand open rows, about a tenth of them assigned to a colleague; about a
fifth are overdue and one in twenty has no due date. Then, through one granian worker,
GET /api/v1/tasks (page 1, ?overdue=true, ?page=20) and the inbox page GET /tasks (HTML:
the same three views of the role queue, with the tabs' counts), each p50 / p95 / p99
(target p95 ≤ 20 ms); beside them, in the same run, the floors: an empty request
(GET /healthz) through the same worker, and the queue's own work in-process (its
statements, the tab counts, the whole view). The statements of a view that misses the
target are caught as they run and explained (EXPLAIN ANALYZE).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api_support import ROOT, Client, Server, database, note, percentile
from sqlalchemy import event, text

from server.ui import inbox as inbox_page
from workflows import access, migrate
from workflows.config import Settings
from workflows.definitions import deployment
from workflows.demo import UNITS
from workflows.org import service as org
from workflows.runtime import Runtime
from workflows.tasks import queues, views

PASSWORD = "bench-pass-1"
CLERK = "discipline.ah-hf"
P95_TARGET_MS = 20.0
EXTRA_UNITS = [
    (f"ah-x{n:02d}", f"基准县{n:02d}", "county", "ah-hf" if n % 2 else "ah-wh")
    for n in range(1, 14)
]
LANE_ROLES = ("discipline", "organization", "committee", "functional", "unit")
QUERIES = (
    ("page 1", "/api/v1/tasks"),
    ("overdue", "/api/v1/tasks?overdue=true"),
    ("page 20", "/api/v1/tasks?page=20"),
)
#: The inbox page (HTML, its own page size) with the same three views of the role queue.
INBOX_PER_PAGE = inbox_page.PER_PAGE
PAGES = (
    ("page 1", "/tasks?queue=role"),
    ("overdue", "/tasks?queue=role&overdue=1"),
    ("page 20", "/tasks?queue=role&page=20"),
)

# Every unit but ah-hf, in a fixed order; the case of number i is managed by ah-hf when
# i % 8 = 0, otherwise by one of these 19 in turn.
_OTHERS = [code for code, *_ in [*UNITS, *EXTRA_UNITS] if code != "ah-hf"]
_UNIT_OF = (
    "(CASE WHEN i % 8 = 0 THEN 'ah-hf' ELSE (ARRAY["
    + ",".join(f"'{u}'" for u in _OTHERS)
    + "])[1 + (i / 8) % 19] END)"
)
_ROLE_ARRAY = "(ARRAY[" + ",".join(f"'{r}'" for r in LANE_ROLES) + "])"
_SPECS = [
    "register",
    "investigate",
    "consider_tolerance",
    "decide",
    "notify",
    "arrange_work",
    "remind",
    "escalate",
    "review",
    "verify",
]
_NAMES = [
    "立案",
    "责任调查",
    "同步考虑容错情形",
    "问责决定",
    "送达",
    "妥善安排工作",
    "调查临期提醒",
    "督办",
    "复核",
    "验收",
]
_NOW = "(now() AT TIME ZONE 'utc')"

SEED = [
    f"""INSERT INTO cadre (id, name, post, org_unit_code, created_at)
        SELECT i, '干部' || i, '某局局长', {_UNIT_OF}, {_NOW} - interval '400 days'
        FROM generate_series(1, :n) AS i""",
    f"""INSERT INTO instance (id, process_version_id, process_key, org_unit, status, state, state_format,
                              version, started_at, started_by, updated_at)
        SELECT i, :pv, 'accountability', {_UNIT_OF}, 'running', '{{}}', 1, 1,
               {_NOW} - (i % 90) * interval '1 day', 'seed', {_NOW}
        FROM generate_series(1, :n) AS i""",
    f"""INSERT INTO case_file (id, number, kind, year, seq, instance_id, cadre_id, subject_name,
                               org_unit_code, title, status, source, opened_at, opened_by,
                               registered_on)
        SELECT i, 'WZ-2026-' || lpad(i::text, 6, '0'), 'accountability', 2026, i, i, i, '干部' || i,
               {_UNIT_OF}, '基准问责案件 ' || i, 'open', 'audit',
               {_NOW} - (i % 90) * interval '1 day', 'seed',
               ({_NOW} - (i % 90) * interval '1 day')::date
        FROM generate_series(1, :n) AS i""",
    # Ten rows per case: j = 0..8 completed history (j = 8 still open in one case of four,
    # the parallel branch), j = 9 the open task.
    f"""INSERT INTO human_task (id, instance_id, process_key, spiff_task_id, task_spec, name, role, org_unit,
                                assignee, owner, form, state, created_at, due_at, due_basis,
                                completed_at, completed_by)
        SELECT (i - 1) * 10 + j + 1, i, 'accountability', md5(i::text || '-' || j::text),
               (ARRAY[{",".join(f"'{s}'" for s in _SPECS)}])[j + 1],
               (ARRAY[{",".join(f"'{s}'" for s in _NAMES)}])[j + 1],
               CASE WHEN is_open THEN {_ROLE_ARRAY}[1 + (i / 8) % 5] ELSE {_ROLE_ARRAY}[1 + (i + j) % 5] END,
               {_UNIT_OF},
               CASE WHEN is_open AND abs(hashint4(i)) % 10 = 7 THEN 'colleague.' || {_UNIT_OF} END, NULL, NULL,
               CASE WHEN is_open THEN 'open' ELSE 'completed' END,
               {_NOW} - ((i % 90) + 9 - j) * interval '1 day',
               CASE WHEN NOT is_open THEN NULL WHEN abs(hashint4(-i)) % 20 = 3 THEN NULL
                    ELSE {_NOW} + (abs(hashint4(i * 10 + j)) % 120 - 25) * interval '1 day' END,
               CASE WHEN is_open THEN '立案之日起30个工作日' END,
               CASE WHEN is_open THEN NULL ELSE {_NOW} - ((i % 90) + 8 - j) * interval '1 day' END,
               CASE WHEN is_open THEN NULL ELSE 'clerk.' || {_UNIT_OF} END
        FROM generate_series(1, :n) AS i, generate_series(0, 9) AS j,
             LATERAL (SELECT j = 9 OR (j = 8 AND abs(hashint4(i + 7777777)) % 4 = 0) AS is_open) AS o""",
    *(
        f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
        for t in ("cadre", "instance", "case_file", "human_task")
    ),
]


def queue_world(url: str, cases: int) -> Runtime:
    migrate.upgrade(url)
    rt = Runtime(Settings(database_url=url, clock_adjustable=False, forms_dir=ROOT / "forms"))
    with rt.db.transaction() as session:
        for code, name, level, parent in [*UNITS, *EXTRA_UNITS]:
            org.add_unit(session, code=code, name=name, level=level, parent_code=parent)
        org.add_user(
            session,
            username=CLERK,
            display_name="合肥市纪检监察审查员",
            password=PASSWORD,
            role="discipline",
            org_unit_code="ah-hf",
            clock=rt.clock,
            hasher=rt.hasher,
        )
        deployment.deploy(
            session,
            files=deployment.collect(
                [
                    ROOT / "bpmn" / "accountability.bpmn",
                    *sorted((ROOT / "bpmn" / "decisions").glob("*.dmn")),
                ]
            ),
            form_source=deployment.FormFolder(ROOT / "forms"),
            max_bytes=2_000_000,
            actor="bench",
            clock=rt.clock,
            note="bench",
            confirm=True,
        )
        pv = deployment.latest(session, process_key="accountability").id
    started = time.perf_counter()
    with rt.db.engine.begin() as conn:
        for statement in SEED:
            conn.execute(text(statement), {"n": cases, "pv": pv})
    with rt.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("case_file", "human_task")
        }
    note(
        f"seeded {counts['case_file']:,} cases and {counts['human_task']:,} task rows "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return rt


@contextmanager
def _statements(rt: Runtime) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) run on `rt`'s engine inside the block."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(rt.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", record)


def _filters(name: str) -> tuple[queues.Filters, int]:
    """The queue and page a query of QUERIES (the API) or PAGES (the inbox) asks for."""
    page = 20 if name == "page 20" else 1
    return queues.Filters(queue="role", overdue=True if name == "overdue" else None), page


def explain(rt: Runtime, query_name: str, *, per_page: int, inbox: bool) -> list[str]:
    """EXPLAIN ANALYZE of every statement the API's queue (or the inbox page's, with its tab
    counts) runs for `query_name`, caught as they run."""
    filters, page = _filters(query_name)
    with rt.db.reading() as session, _statements(rt) as seen:
        principal = access.principal_for(session, username=CLERK)
        seen.clear()
        counts = views.queue_lengths(session, principal, clock=rt.clock) if inbox else {}
        whole = inbox and filters == queues.Filters(queue="role")
        views.queue_page(
            session,
            principal,
            filters,
            clock=rt.clock,
            page=page,
            per_page=per_page,
            total=counts.get("role") if whole else None,
        )
        caught = list(seen)
        lines: list[str] = []
        conn = session.connection()
        for sql, params in caught:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).scalars().all()
            lines.append(f"{'inbox' if inbox else 'API'} {query_name} — {sql.split()[0]} …:")
            lines += [f"    {line}" for line in plan]
        return lines


def _timed(fn: Any, samples: int) -> tuple[float, float, float]:
    for _ in range(10):
        fn()
    took = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        took.append((time.perf_counter() - t0) * 1000)
    return percentile(took, 50), percentile(took, 95), percentile(took, 99)


def floors(rt: Runtime, samples: int, report: Any) -> None:
    """The queue's own work in-process, without HTTP: its statements (page and count), the tab
    counts in one statement, and the whole view (names, actions) — what a request cannot beat."""
    with rt.db.reading() as session:
        principal = access.principal_for(session, username=CLERK)
        role = queues.Filters(queue="role")
        parts = {
            "queue statements (page 1, count)": lambda: queues.page(
                session, principal, role, now=rt.clock.now(), page=1, per_page=50
            ),
            "tab counts (mine, role: one statement)": lambda: views.queue_lengths(
                session, principal, clock=rt.clock
            ),
            "tab counts as two statements (before)": lambda: [
                queues.count(session, principal, queues.Filters(queue=q), now=rt.clock.now())
                for q in ("mine", "role")
            ],
            "view of page 1 (statements, names, actions)": lambda: views.queue_page(
                session, principal, role, clock=rt.clock, page=1, per_page=50
            ),
        }
        for label, fn in parts.items():
            p50, p95, _p99 = _timed(fn, samples)
            report.add(
                f"[postgresql] floor, in-process: {label}: p50 / p95", f"{p50:.1f} / {p95:.1f} ms"
            )


def _measure(client: Client, path: str, samples: int, *, accept: str) -> tuple[float, float, float]:
    def get() -> None:
        status, _, body = client.request("GET", path, accept=accept)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {body[:300]!r}")

    return _timed(get, samples)


def bench_queue(
    tmp: Path, cases: int, samples: int, report: Any, always_explain: bool = False
) -> None:
    """The clerk's queue through one granian worker: the API (GET /api/v1/tasks), the inbox
    page (GET /tasks, HTML) and, as floors in the same run, an empty request (GET /healthz)
    and the queue's own work in-process."""
    with database("postgresql", tmp, "queue") as url:
        rt = queue_world(url, cases)
        missed: list[tuple[str, bool]] = []
        with Server(url, 1, tmp) as server:
            client = server.client().login(CLERK, PASSWORD)
            total = client.call("GET", "/api/v1/tasks")["total"]
            report.add(
                f"[postgresql] {cases:,} open cases, {10 * cases:,} task rows: clerk's queue",
                f"{total:,} rows",
            )
            p50, p95, p99 = _measure(client, "/healthz", samples, accept="application/json")
            report.add(
                "[postgresql] floor, HTTP: GET /healthz (one worker): p50 / p95 / p99",
                f"{p50:.1f} / {p95:.1f} / {p99:.1f} ms",
            )
            last = -(-total // INBOX_PER_PAGE)  # a small world has fewer than 20 inbox pages
            pages = tuple(
                (name, path.replace("page=20", f"page={min(20, last)}")) for name, path in PAGES
            )
            for inbox, queries, accept in (
                (False, QUERIES, "application/json"),
                (True, pages, "text/html"),
            ):
                for name, path in queries:
                    p50, p95, p99 = _measure(client, path, samples, accept=accept)
                    ok = p95 <= P95_TARGET_MS
                    what = "GET /tasks (inbox page, HTML)" if inbox else "GET /api/v1/tasks"
                    report.add(
                        f"[postgresql] {what} {name}: p50 / p99", f"{p50:.1f} / {p99:.1f} ms"
                    )
                    report.add(
                        f"[postgresql] {what} {name}: p95",
                        f"{p95:.1f} ms",
                        f"<= {P95_TARGET_MS:.0f} ms",
                        ok,
                    )
                    if not ok or always_explain:
                        missed.append((name, inbox))
            client.close()
        floors(rt, samples, report)
        for name, inbox in missed:
            print(
                "\n".join(explain(rt, name, per_page=INBOX_PER_PAGE if inbox else 50, inbox=inbox))
            )
        rt.db.dispose()
