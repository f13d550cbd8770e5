"""The kinds of file a case may hold, told by their extension *and* their leading bytes, so a
renamed executable or archive is refused whatever it is called.

ZIP archives are not accepted: materials are attached one by one, so that each is checked
here and listed on the case. Word/Excel (.docx/.xlsx) and OFD are ZIP packages themselves;
they must contain the part that makes them what they claim to be.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc .xls .wps .et (Compound File Binary)
ZIP = b"PK\x03\x04"
#: Leading bytes of programs and scripts: named in the refusal, never accepted.
EXECUTABLES = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
)
#: Control characters that mark binary content (tab, newlines and form feed are text).
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Format:
    """One accepted kind of file: its name in messages, the type it is served as, and how its
    content is recognised (leading bytes; for ZIP packages, a part they must contain)."""

    name: str
    content_type: str
    signature: bytes | None  # None: plain text, checked by decoding
    zip_part: str | None = None


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Accepted extensions (lower case) and what the content must be.
FORMATS: dict[str, Format] = {
    ".pdf": Format("PDF", "application/pdf", b"%PDF-"),
    ".ofd": Format("OFD 版式", "application/ofd", ZIP, zip_part="OFD.xml"),
    ".jpg": Format("JPEG 图片", "image/jpeg", b"\xff\xd8\xff"),
    ".jpeg": Format("JPEG 图片", "image/jpeg", b"\xff\xd8\xff"),
    ".png": Format("PNG 图片", "image/png", b"\x89PNG\r\n\x1a\n"),
    ".doc": Format("Word", "application/msword", OLE2),
    ".docx": Format("Word", _DOCX, ZIP, zip_part="word/document.xml"),
    ".xls": Format("Excel", "application/vnd.ms-excel", OLE2),
    ".xlsx": Format("Excel", _XLSX, ZIP, zip_part="xl/workbook.xml"),
    ".wps": Format("WPS 文字", "application/wps-office.wps", OLE2),
    ".et": Format("WPS 表格", "application/wps-office.et", OLE2),
    ".txt": Format("纯文本", "text/plain", None),
}
#: The types a download may be served as; anything else goes out as application/octet-stream.
CONTENT_TYPES: tuple[str, ...] = tuple(dict.fromkeys(f.content_type for f in FORMATS.values()))
#: The accepted kinds in words, for messages and the upload form.
ACCEPTED = (
    "PDF、OFD 版式文件、JPEG/PNG 图片、Word/Excel（.doc .docx .xls .xlsx）、"
    "WPS（.wps .et）或纯文本（.txt）"
)


def extension(filename: str) -> str:
    """The lower-case extension with its dot ('' when there is none)."""
    stem, dot, ext = filename.rpartition(".")
    return f".{ext.lower()}" if dot and stem and ext else ""


def is_executable(data: bytes) -> bool:
    return data.startswith(EXECUTABLES)


def matches(fmt: Format, data: bytes) -> bool:
    """The content is what `fmt` says: its leading bytes, the part a package must hold, or
    for plain text, readable text (UTF-8 or GB18030) without binary control characters."""
    if fmt.signature is None:
        return _is_text(data)
    if not data.startswith(fmt.signature):
        return False
    return fmt.zip_part is None or _has_part(data, fmt.zip_part)


def _has_part(data: bytes, part: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return part in package.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


def _is_text(data: bytes) -> bool:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _BINARY_CONTROLS.search(text) is None
    return False
