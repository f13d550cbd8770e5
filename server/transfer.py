"""Files over HTTP, for the API and the pages alike: reading an uploaded file before the write
transaction (SQLite's write lock waits for no upload), and answering a download as an
attachment that no browser renders."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from flask import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from server import auth
from workflows.documents import formats
from workflows.documents import service as documents
from workflows.errors import ValidationFailed

#: A request body may exceed the file cap by this much (multipart framing, title, description):
#: a file just over the cap is answered with its own message, a far larger body is not read.
_REQUEST_SLACK = 1024 * 1024
MAX_MB = documents.MAX_BYTES // (1024 * 1024)


@dataclass(frozen=True)
class UploadedFile:
    filename: str | None
    content: bytes | None  # None: no file was sent; at most MAX_BYTES + 1 bytes


def read_file(field: str = "file") -> UploadedFile:
    """The uploaded file of this request, read up to one byte past the cap (enough to refuse it);
    a body far past the cap is refused unread, with the same message on `field`."""
    request.max_content_length = documents.MAX_BYTES + _REQUEST_SLACK
    try:
        upload = request.files.get(field)
    except RequestEntityTooLarge:
        message = f"文件超过 {MAX_MB} MB：单个材料不能超过 {MAX_MB} MB"
        raise ValidationFailed(message, [{"field": field, "message": message}]) from None
    if upload is None:
        return UploadedFile(None, None)
    content = upload.stream.read(documents.MAX_BYTES + 1)
    if not upload.filename and not content:  # a browser's form with no file chosen
        return UploadedFile(None, None)
    return UploadedFile(upload.filename, content)


def _fallback_name(filename: str) -> str:
    """An ASCII stand-in for clients that do not read RFC 5987's filename*."""
    ext = formats.extension(filename)
    stem = filename[: -len(ext)] if ext else filename
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    ascii_stem = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_stem).strip("_-")
    return f"{ascii_stem if re.search(r'[A-Za-z0-9]', ascii_stem) else 'document'}{ext}"


def download_response(found: documents.Download) -> Response:
    """The bytes as an attachment: RFC 5987 file name, the stored type (already limited to the
    accepted ones), never sniffed, never shared by caches, sandboxed if opened anyway."""
    response = Response(found.content, status=200)
    response.headers["Content-Type"] = found.content_type
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_fallback_name(found.filename)}"; '
        f"filename*=UTF-8''{quote(found.filename, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["ETag"] = f'"{found.sha256}"'
    return response


def serve_download(document_id: int) -> Response:
    """The download both the API and the pages answer: a GET is audited (in a write
    transaction); a HEAD — headers only, no content leaves — is not."""
    headers_only = request.method == "HEAD"
    with auth.reading() if headers_only else auth.writing() as (session, principal):
        found = documents.download(
            session,
            principal=principal,
            document_id=document_id,
            clock=auth.runtime().clock,
            record=not headers_only,
        )
    return download_response(found)


def inline_pdf(content: bytes, filename: str, sha256: str) -> Response:
    """A PDF the browser shows in place (preview): its own type, never sniffed, never shared by
    caches. No CSP sandbox: the browser's PDF viewer refuses to run in a sandboxed document."""
    response = Response(content, status=200, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{_fallback_name(filename)}"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private"
    response.headers["ETag"] = f'"{sha256}"'
    return response
