"""What a knowledge attachment may be: an allow-list of types recognised by their content.

The type is what the bytes are (magic numbers, a zip's members), never the name or the browser's
Content-Type; the file's name must then carry an extension of that type. HTML, SVG, scripts and
programs are refused whatever they are called. Stored files get a random name under the article's
folder; the uploaded name is kept only as text (``Attachment.original_name``) for the download.
"""

from __future__ import annotations

import os
import uuid
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Kind:
    code: str
    content_type: str
    extensions: tuple[str, ...]


PDF = Kind("pdf", "application/pdf", (".pdf",))
PNG = Kind("png", "image/png", (".png",))
JPEG = Kind("jpeg", "image/jpeg", (".jpg", ".jpeg"))
DOCX = Kind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",))
XLSX = Kind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",))
PPTX = Kind("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", (".pptx",))
TEXT = Kind("text", "text/plain; charset=utf-8", (".txt", ".csv"))
KINDS = (PDF, PNG, JPEG, DOCX, XLSX, PPTX, TEXT)
ACCEPT = ",".join(ext for kind in KINDS for ext in kind.extensions)

_OOXML = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
SNIFF_BYTES = 8192


def max_bytes() -> int:
    return settings.GRIDCARE_ATTACHMENT_MAX_MB * 1024 * 1024


def _text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<", b"mz", b"#!")):
        return False  # markup (html, svg, xml) or a program, whatever its name
    for encoding in ("utf-8", "gb18030"):
        try:
            head.decode(encoding)
            return True
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and exc.start >= len(head) - 3:
                return True  # a multi-byte character cut at the end of the sniffed head
    return False


def _zip_kind(file) -> Kind | None:
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, kind in _OOXML.items():
        if any(name.startswith(prefix) for name in names):
            return kind
    return None


def sniff(file) -> Kind | None:
    """The allowed kind the content is, or None."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        kind = _zip_kind(file)
        file.seek(0)
        return kind
    if head and _text(head):
        return TEXT
    return None


def check(file) -> Kind:
    """The kind of an uploaded file, or ValidationError (too large, empty, not allowed, misnamed)."""
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(0)
    if size > max_bytes():
        raise ValidationError(
            _("附件不能超过 %(mb)d MB") % {"mb": settings.GRIDCARE_ATTACHMENT_MAX_MB}, code="too_large"
        )
    if size == 0:
        raise ValidationError(_("附件是空文件"), code="empty")
    kind = sniff(file)
    if kind is None:
        raise ValidationError(
            _("不支持的附件类型：只接受 PDF、PNG、JPEG、Word/Excel/PowerPoint（docx/xlsx/pptx）和纯文本"),
            code="type_not_allowed",
        )
    ext = os.path.splitext(getattr(file, "name", "") or "")[1].lower()
    if ext not in kind.extensions:
        raise ValidationError(
            _("文件扩展名与内容不符：内容是 %(kind)s，应使用 %(ext)s")
            % {"kind": kind.code.upper(), "ext": "/".join(kind.extensions)},
            code="extension_mismatch",
        )
    return kind


def stored_name(article_number: str, kind: Kind) -> str:
    """A random, safe storage path: no part of the uploaded name reaches the file system."""
    return f"knowledge/{article_number}/{uuid.uuid4().hex}{kind.extensions[0]}"


def display_name(name: str, kind: Kind) -> str:
    """The uploaded name as download text: no path, no control characters, at most 120 chars."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?').strip() or "附件"
    stem, ext = os.path.splitext(base)
    ext = ext.lower() if ext.lower() in kind.extensions else kind.extensions[0]
    return stem[: 120 - len(ext)] + ext
