"""The hardened XML gate: dangerous or broken BPMN/DMN is refused before any parser runs.

Refusals are DefinitionErrors whose Problem names the file and the reason; the same
problems come back from `deployment.check` (nothing deployable) and from
`cadreflow validate` (non-zero exit).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from workflows.definitions import deployment, xmlgate
from workflows.engine.models import AuditEvent, ProcessVersion
from workflows.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
FORMS = DATA / "forms"
CADREFLOW = Path(sys.executable).parent / "cadreflow"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
GOOD = (DATA / "deadline.bpmn").read_bytes()
LIMIT = 200_000

INTERNAL_DTD = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [
  <!ELEMENT definitions ANY>
  <!ATTLIST definitions id CDATA "injected">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>
"""

BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="lolz" name="&lol9;" isExecutable="true"/>
</bpmn:definitions>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="xxe" name="&xxe;" isExecutable="true"/>
</bpmn:definitions>
"""

XINCLUDE = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xi="http://www.w3.org/2001/XInclude" id="d">
  <bpmn:process id="xinclude" isExecutable="true">
    <bpmn:documentation><xi:include href="file:///etc/passwd" parse="text"/></bpmn:documentation>
  </bpmn:process>
</bpmn:definitions>
"""

MALFORMED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="broken" isExecutable="true">
</bpmn:definitions>
"""

# (file name, content, words the reason must contain)
REFUSED = [
    ("internal_dtd.bpmn", INTERNAL_DTD, "DOCTYPE"),
    ("billion_laughs.bpmn", BILLION_LAUGHS, "实体"),
    ("external_entity.bpmn", EXTERNAL_ENTITY, "实体"),
    ("xinclude.bpmn", XINCLUDE, "XInclude"),
    ("malformed.bpmn", MALFORMED, "XML 格式不正确"),
]
REFUSED_IDS = [name.removesuffix(".bpmn") for name, _, _ in REFUSED]


def _refusal(data: bytes, filename: str, max_bytes: int = LIMIT) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        xmlgate.parse(data, filename=filename, max_bytes=max_bytes)
    return caught.value


@pytest.mark.parametrize(("filename", "data", "reason"), REFUSED, ids=REFUSED_IDS)
def test_parse_refuses_dangerous_or_broken_xml_naming_file_and_reason(
    filename: str, data: bytes, reason: str
) -> None:
    err = _refusal(data, filename)
    assert len(err.problems) == 1
    problem = err.problems[0]
    assert problem.file == filename
    assert reason.lower() in problem.reason.lower()
    assert str(err).startswith(f"{filename}: ")
    assert "root:" not in str(err)  # nothing of /etc/passwd leaks into the message


def test_parse_refuses_a_file_over_max_bytes_and_accepts_one_at_the_limit() -> None:
    err = _refusal(GOOD, "deadline.bpmn", max_bytes=len(GOOD) - 1)
    problem = err.problems[0]
    assert problem.file == "deadline.bpmn"
    assert f"{len(GOOD)} 字节" in problem.reason
    assert f"超过上限 {len(GOOD) - 1}" in problem.reason
    assert xmlgate.parse(GOOD, filename="deadline.bpmn", max_bytes=len(GOOD)) is not None


def test_size_limit_is_checked_before_the_xml_is_looked_at() -> None:
    huge = BILLION_LAUGHS + b" " * 1000
    err = _refusal(huge, "huge.bpmn", max_bytes=len(BILLION_LAUGHS))
    assert "超过上限" in err.problems[0].reason


def test_parse_accepts_a_normal_bpmn_file() -> None:
    root = xmlgate.parse(GOOD, filename="deadline.bpmn", max_bytes=LIMIT)
    assert root.tag == f"{{{BPMN_NS}}}definitions"
    process = root.find(f"{{{BPMN_NS}}}process")
    assert process is not None and process.get("id") == "deadline"
    names = [t.get("name") for t in root.iter(f"{{{BPMN_NS}}}userTask")]
    assert "责任调查" in names


def test_a_utf16_file_hiding_a_doctype_is_refused() -> None:
    text = """<?xml version="1.0" encoding="UTF-16"?>
<!DOCTYPE definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:documentation>&xxe;</bpmn:documentation>
</bpmn:definitions>
"""
    err = _refusal(text.encode("utf-16"), "utf16.bpmn")
    # Refused before any DOCTYPE scan: only UTF-8 reaches the byte-level checks.
    assert "UTF-8" in err.problems[0].reason


@pytest.mark.parametrize(("filename", "data", "reason"), REFUSED, ids=REFUSED_IDS)
def test_check_reports_the_gate_problem_and_builds_nothing(
    filename: str, data: bytes, reason: str
) -> None:
    checked = deployment.check(
        [deployment.SourceFile(filename, data)],
        form_source=deployment.FormFolder(FORMS),
        max_bytes=LIMIT,
    )
    assert [(p.file, p.element) for p in checked.problems] == [(filename, None)]
    assert reason.lower() in checked.problems[0].reason.lower()
    assert checked.processes == [] and checked.decisions == []


def test_check_reports_an_oversized_file_and_builds_nothing() -> None:
    checked = deployment.check(
        [deployment.SourceFile("deadline.bpmn", GOOD)],
        form_source=deployment.FormFolder(FORMS),
        max_bytes=len(GOOD) - 1,
    )
    assert [p.file for p in checked.problems] == ["deadline.bpmn"]
    assert "超过上限" in checked.problems[0].reason
    assert checked.processes == []


def test_check_blames_only_the_refused_file_next_to_a_good_one() -> None:
    files = [
        deployment.SourceFile("deadline.bpmn", GOOD),
        deployment.SourceFile("external_entity.bpmn", EXTERNAL_ENTITY),
    ]
    checked = deployment.check(files, form_source=deployment.FormFolder(FORMS), max_bytes=LIMIT)
    assert [p.file for p in checked.errors] == ["external_entity.bpmn"]
    assert [p.process_id for p in checked.processes] == ["deadline"]


def test_deploying_a_good_file_with_a_refused_one_stores_nothing(rt) -> None:
    files = [
        deployment.SourceFile("deadline.bpmn", GOOD),
        deployment.SourceFile("billion_laughs.bpmn", BILLION_LAUGHS),
    ]
    with pytest.raises(DefinitionError) as caught, rt.db.transaction() as session:
        deployment.deploy(
            session,
            files=files,
            form_source=deployment.FormFolder(FORMS),
            max_bytes=LIMIT,
            actor="tester",
            clock=rt.clock,
            note="测试部署",
        )
    assert [p.file for p in caught.value.problems if p.severity == "error"] == [
        "billion_laughs.bpmn"
    ]
    with rt.db.reading() as session:
        assert session.execute(select(func.count()).select_from(ProcessVersion)).scalar() == 0
        assert session.execute(select(func.count()).select_from(AuditEvent)).scalar() == 0


def test_cadreflow_validate_refuses_each_bad_file_with_a_nonzero_exit(tmp_path: Path) -> None:
    limit = 5000
    paths = []
    for filename, data, _ in REFUSED:
        (tmp_path / filename).write_bytes(data)
        paths.append(str(tmp_path / filename))
    oversized = tmp_path / "oversized.bpmn"
    oversized.write_bytes(
        GOOD.replace(b"</bpmn:definitions>", b"<!--" + b"x" * limit + b"-->\n</bpmn:definitions>")
    )
    paths.append(str(oversized))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CADREFLOW_") and k != "CLOCK_ADJUSTABLE"
    }
    env.update(
        CADREFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'cadreflow.db'}",
        CADREFLOW_FORMS_DIR=str(FORMS),
        CADREFLOW_MAX_DEFINITION_BYTES=str(limit),
    )
    done = subprocess.run(
        [str(CADREFLOW), "validate", *paths],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"error: 发现 {len(paths)} 个错误"
    for filename, _, reason in REFUSED:
        assert any(
            line.strip().startswith(f"{filename}: ") and reason.lower() in line.lower()
            for line in lines
        ), (filename, done.stderr)
    assert any(
        line.strip().startswith("oversized.bpmn: ") and "超过上限" in line for line in lines
    ), done.stderr
    assert done.stdout == ""


def test_a_file_declaring_another_encoding_is_refused() -> None:
    data = b'<?xml version="1.0" encoding="ISO-8859-1"?><r/>'
    err = _refusal(data, "latin.bpmn")
    assert "ISO-8859-1" in err.problems[0].reason
