"""A clerk's queue in a large PostgreSQL database (bench/api_complete.py, part 3).

`cases` open accountability cases with ten task rows each (nine completed, one open; a
quarter have a second open task, as in the parallel investigate / consider-tolerance
branch), spread over 20 org units and the five lane roles, seeded with
INSERT … SELECT generate_series straight into cadre / instance / case_file / human_task
(instance state is a placeholder: these instances are only listed, never advanced).
One unit in eight is 合肥市 (ah-hf), whose discipline clerk is measured: their role queue
holds a few thousand open rows, about a tenth of them assigned to a colleague; about a
fifth are overdue and one in twenty has no due date. Then GET /api/v1/tasks (page 1,
?overdue=true, ?page=20) through one gunicorn worker.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from api_support import ROOT, Server, database, note, percentile
from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from workflows import access, migrate
from workflows.config import Settings
from workflows.definitions import deployment
from workflows.demo import UNITS
from workflows.org import service as org
from workflows.runtime import Runtime
from workflows.tasks import queues

PASSWORD = "bench-pass-1"
CLERK = "discipline.ah-hf"
P95_TARGET_MS = 20.0
EXTRA_UNITS = [(f"ah-x{n:02d}", f"基准县{n:02d}", "county", "ah-hf" if n % 2 else "ah-wh") for n in range(1, 14)]
LANE_ROLES = ("discipline", "organization", "committee", "functional", "unit")
QUERIES = (("page 1", "/api/v1/tasks"), ("overdue", "/api/v1/tasks?overdue=true"),
           ("page 20", "/api/v1/tasks?page=20"))

# Every unit but ah-hf, in a fixed order; the case of number i is managed by ah-hf when
# i % 8 = 0, otherwise by one of these 19 in turn.
_OTHERS = [code for code, *_ in [*UNITS, *EXTRA_UNITS] if code != "ah-hf"]
_UNIT_OF = ("(CASE WHEN i % 8 = 0 THEN 'ah-hf' ELSE (ARRAY[" + ",".join(f"'{u}'" for u in _OTHERS)
            + "])[1 + (i / 8) % 19] END)")
_ROLE_ARRAY = "(ARRAY[" + ",".join(f"'{r}'" for r in LANE_ROLES) + "])"
_SPECS = ["register", "investigate", "consider_tolerance", "decide", "notify", "arrange_work",
          "remind", "escalate", "review", "verify"]
_NAMES = ["立案", "责任调查", "同步考虑容错情形", "问责决定", "送达", "妥善安排工作", "调查临期提醒",
          "督办", "复核", "验收"]
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
                               org_unit_code, title, status, source, opened_at, opened_by)
        SELECT i, 'WZ-2026-' || lpad(i::text, 6, '0'), 'accountability', 2026, i, i, i, '干部' || i,
               {_UNIT_OF}, '基准问责案件 ' || i, 'open', 'audit',
               {_NOW} - (i % 90) * interval '1 day', 'seed'
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
    *(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT max(id) FROM {t}))"
      for t in ("cadre", "instance", "case_file", "human_task")),
]


def queue_world(url: str, cases: int) -> Runtime:
    migrate.upgrade(url)
    rt = Runtime(Settings(database_url=url, clock_adjustable=False, forms_dir=ROOT / "forms"))
    with rt.db.transaction() as session:
        for code, name, level, parent in [*UNITS, *EXTRA_UNITS]:
            org.add_unit(session, code=code, name=name, level=level, parent_code=parent)
        org.add_user(session, username=CLERK, display_name="合肥市纪检监察审查员", password=PASSWORD,
                     role="discipline", org_unit_code="ah-hf", clock=rt.clock, hasher=rt.hasher)
        deployment.deploy(session, files=deployment.collect([ROOT / "bpmn" / "accountability.bpmn",
                                                             *sorted((ROOT / "bpmn" / "decisions").glob("*.dmn"))]),
                          forms_dir=ROOT / "forms", max_bytes=2_000_000, actor="bench", clock=rt.clock)
        pv = deployment.latest(session, process_key="accountability").id
    started = time.perf_counter()
    with rt.db.engine.begin() as conn:
        for statement in SEED:
            conn.execute(text(statement), {"n": cases, "pv": pv})
    with rt.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                  for t in ("case_file", "human_task")}
    note(f"seeded {counts['case_file']:,} cases and {counts['human_task']:,} task rows "
         f"in {time.perf_counter() - started:.0f} s")
    return rt


def explain(rt: Runtime, query_name: str) -> list[str]:
    """EXPLAIN ANALYZE of the page and the count the API runs for `query_name`."""
    with rt.db.reading() as session:
        principal = access.principal_for(session, username=CLERK)
        now = rt.clock.now()
        overdue = True if query_name == "overdue" else None
        page = 20 if query_name == "page 20" else 1
        query = queues.task_rows(principal, queues.Filters(queue="role", overdue=overdue), now=now)
        counted = query.order_by(None).with_only_columns(queues.HumanTask.id).subquery()
        from sqlalchemy import func, select

        statements = {"page": query.limit(50).offset((page - 1) * 50),
                      "count": select(func.count()).select_from(counted)}
        lines: list[str] = []
        for label, statement in statements.items():
            sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plan = session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
            lines.append(f"{query_name} — {label} query:")
            lines += [f"    {line}" for line in plan]
        return lines


def bench_queue(tmp: Path, cases: int, samples: int, report: Any, always_explain: bool = False) -> None:
    with database("postgresql", tmp, "queue") as url:
        rt = queue_world(url, cases)
        with Server(url, 1, tmp) as server:
            client = server.client().login(CLERK, PASSWORD)
            total = client.call("GET", "/api/v1/tasks")["total"]
            report.add(f"[postgresql] {cases:,} open cases, {10 * cases:,} task rows: clerk's queue",
                       f"{total:,} rows")
            missed = []
            for name, path in QUERIES:
                for _ in range(20):
                    client.call("GET", path)
                took = []
                for _ in range(samples):
                    t0 = time.perf_counter()
                    status, _, body = client.request("GET", path)
                    took.append((time.perf_counter() - t0) * 1000)
                    if status != 200:
                        raise RuntimeError(f"GET {path}: HTTP {status} {body[:300]!r}")
                p50, p95, p99 = (percentile(took, q) for q in (50, 95, 99))
                ok = p95 <= P95_TARGET_MS
                report.add(f"[postgresql] GET /tasks {name}: p50 / p99", f"{p50:.1f} / {p99:.1f} ms")
                report.add(f"[postgresql] GET /tasks {name}: p95", f"{p95:.1f} ms",
                           f"<= {P95_TARGET_MS:.0f} ms", ok)
                if not ok or always_explain:
                    missed.append(name)
            client.close()
        for name in missed:
            print("\n".join(explain(rt, name)))
        rt.db.dispose()
