"""DOCX → PDF with LibreOffice headless (Debian's libreoffice-writer-nogui), fonts embedded.

A conversion is bounded (TIMEOUT seconds, then the process group is killed) and runs with a
LibreOffice profile of its own process (`-env:UserInstallation`), one conversion at a time per
process, so parallel workers never share a profile. Fonts resolve through `fonts.conf` beside
this file: the Word/WPS names the templates use map to the CJK fonts Debian ships.

The caller converts outside its database write transaction (SQLite holds one write lock for
the whole database) and stores the result in a short transaction of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from workflows.messages import t

TIMEOUT = 90.0
FONTS_CONF = Path(__file__).with_name("fonts.conf")
_ONE_AT_A_TIME = threading.Lock()


class ConversionFailed(Exception):
    """The converter is missing, timed out or produced no PDF; the message says which."""


def available() -> bool:
    return shutil.which("soffice") is not None


def _profile() -> Path:
    """This process's LibreOffice profile directory (created by LibreOffice on first use)."""
    return Path(tempfile.gettempdir()) / f"cadreflow-office-{os.getuid()}-{os.getpid()}"


def to_pdf(docx: bytes, *, timeout: float = TIMEOUT) -> bytes:
    """The PDF of a DOCX document, or ConversionFailed."""
    soffice = shutil.which("soffice")
    if soffice is None:
        raise ConversionFailed(t("未安装 LibreOffice（soffice）：请运行 make .stamp-office"))
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="cadreflow-pdf-") as work:
        source = Path(work) / "document.docx"
        source.write_bytes(docx)
        command = [
            soffice,
            f"-env:UserInstallation={_profile().as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "pdf:writer_pdf_Export",
            "--outdir",
            work,
            str(source),
        ]
        environment = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF), "HOME": work}
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            start_new_session=True,  # its own process group, to be killed whole on timeout
        )
        try:
            _out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise ConversionFailed(
                t("转换 PDF 超时（%(timeout)s 秒）", timeout=f"{timeout:g}")
            ) from None
        target = source.with_suffix(".pdf")
        if process.returncode != 0 or not target.exists():
            detail = err.decode("utf-8", "replace").strip()[-500:]
            raise ConversionFailed(
                t(
                    "转换 PDF 失败（退出码 %(returncode)s）：%(detail)s",
                    returncode=process.returncode,
                    detail=detail,
                )
            )
        return target.read_bytes()
