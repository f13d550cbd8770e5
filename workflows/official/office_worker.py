"""LibreOffice kept running, converting DOCX → PDF over UNO: the helper of `conversion.py`.

Run with Debian's `/usr/bin/python3` (the interpreter `python3-uno` is built for), never
imported by cadreflow: `office_worker.py SOFFICE PIPE_NAME PROFILE_URL`. It starts soffice
listening on the named pipe, connects to it (retrying until it accepts), writes one line
`{"ok": true, "ready": true}` and then serves requests on stdin, one JSON line each way:

    {"source": "/abs/path.docx", "target": "/abs/path.pdf"}  →  {"ok": true}
                                                  or {"ok": false, "error": "open" | "store",
                                                      "detail": LibreOffice's own words}
    {"quit": true}  (or the end of stdin)                     →  soffice terminated, exit 0

One conversion at a time: each document is loaded hidden with the Word 2007–365 filter (a
file that is not a DOCX is refused, not read as text), stored with `writer_pdf_Export` and
closed. Anything else that writes to stdout (LibreOffice, the UNO runtime) is sent to stderr,
so stdout carries the replies only. Its caller starts it in a process group of its own, soffice
included, and kills that group on a timeout; if the caller dies, this helper ends soffice and
itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, TextIO

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from com.sun.star.uno import Exception as UnoError  # every UNO exception, runtime ones too

#: LibreOffice's own name for the DOCX import filter ("Word 2007–365").
DOCX_FILTER = "MS Word 2007 XML"
NEVER_EXECUTE = 0  # com.sun.star.document.MacroExecMode.NEVER_EXECUTE


def _properties(**values: Any) -> tuple[Any, ...]:
    made = []
    for name, value in values.items():
        prop = PropertyValue()
        prop.Name = name
        prop.Value = value
        made.append(prop)
    return tuple(made)


def _start(soffice: str, pipe: str, profile: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nolockcheck",
            "--nologo",
            "--nodefault",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
    )


def _connect(office: subprocess.Popen[bytes], pipe: str) -> Any:
    """The Desktop of the soffice just started, once it accepts (it takes a second or two)."""
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    while True:
        try:
            remote = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if office.poll() is not None:
                print(f"soffice exit status {office.returncode}", file=sys.stderr)
                raise SystemExit(3) from None
            time.sleep(0.05)
            continue
        return remote.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", remote)


def _convert(desktop: Any, source: str, target: str) -> dict[str, Any]:
    try:
        document = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(source),
            "_blank",
            0,
            _properties(
                Hidden=True,
                ReadOnly=True,
                FilterName=DOCX_FILTER,
                MacroExecutionMode=NEVER_EXECUTE,
            ),
        )
    except UnoError as err:  # IOException, IllegalArgumentException…
        return {"ok": False, "error": "open", "detail": _said(err)}
    if document is None:
        return {"ok": False, "error": "open", "detail": ""}
    try:
        document.storeToURL(
            uno.systemPathToFileUrl(target), _properties(FilterName="writer_pdf_Export")
        )
    except UnoError as err:
        return {"ok": False, "error": "store", "detail": _said(err)}
    finally:
        try:
            document.close(True)
        except UnoError:  # CloseVetoException: dispose is final
            document.dispose()
    return {"ok": True}


def _said(err: Exception) -> str:
    return str(getattr(err, "Message", "") or err) or type(err).__name__


def _terminate(desktop: Any, office: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(UnoError):  # the bridge goes down as soffice exits
        desktop.terminate()
    try:
        office.wait(timeout=10)
    except subprocess.TimeoutExpired:
        office.kill()


def _end_when_orphaned(parent: int) -> None:
    """Kill this process group (soffice and this helper) once the caller is gone."""
    while os.getppid() == parent:
        time.sleep(1)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _reply(replies: TextIO, message: dict[str, Any]) -> None:
    replies.write(json.dumps(message, ensure_ascii=False) + "\n")
    replies.flush()


def main() -> None:
    soffice, pipe, profile = sys.argv[1:4]
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    threading.Thread(target=_end_when_orphaned, args=(os.getppid(),), daemon=True).start()
    office = _start(soffice, pipe, profile)
    desktop = _connect(office, pipe)
    _reply(replies, {"ok": True, "ready": True})
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("quit"):
            break
        _reply(replies, _convert(desktop, request["source"], request["target"]))
    _terminate(desktop, office)


if __name__ == "__main__":
    main()
