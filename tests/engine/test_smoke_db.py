from tests.conftest import set_clock
from tests.support import complete, deploy, open_tasks, start, sweep, task_named


def test_deadline_flow(rt):
    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    iid = start(rt, "deadline", {"registered_on": "2026-11-02"})
    inv = task_named(rt, "investigate", iid)
    assert inv.due_at is not None
    complete(rt, inv.id, {"responsible": True, "severity": 2, "finding": "应负直接责任"})
    assert [t.task_spec for t in open_tasks(rt, iid)] == ["decide"]
    assert sweep(rt) == 0
