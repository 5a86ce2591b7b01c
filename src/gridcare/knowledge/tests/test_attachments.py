"""Issue #14 item 19: attachments are allow-listed by content, capped in size, stored under safe
names with nothing left behind on failure, and served only as downloads to staff who may read the
article."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridcare.knowledge import services
from gridcare.knowledge.models import Attachment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _stored(media):
    return sorted(p for p in media.rglob("*") if p.is_file())


def _upload(client, kb, name, content, title=""):
    client.login(username="editor", password=kb.password)
    return client.post(
        f"/knowledge/manage/{kb.tiered.number}/attach/",
        {"title": title, "file": SimpleUploadedFile(name, content, content_type="application/pdf")},
        follow=True,
    )


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notice.html", b"<html><script>alert(1)</script></html>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64),
        ("fake.pdf", b"<html><body onload=alert(1)></body></html>"),  # the name lies
        ("table.pdf", b"just some words, not a PDF"),  # text under a PDF name
        ("archive.zip", b"PK\x03\x04" + b"\x00" * 40),
    ],
)
def test_types_outside_the_allow_list_are_refused_and_nothing_is_stored(kb, client, media, name, content):
    response = _upload(client, kb, name, content)
    assert response.status_code == 200
    assert "附件已上传" not in response.content.decode()
    assert not Attachment.objects.exists()
    assert _stored(media) == []


def test_a_file_over_the_size_cap_is_refused(kb, client, media, settings):
    settings.GRIDCARE_ATTACHMENT_MAX_MB = 1
    response = _upload(client, kb, "big.pdf", PDF + b"0" * (1024 * 1024))
    assert "附件不能超过 1 MB" in response.content.decode()
    assert not Attachment.objects.exists() and _stored(media) == []


def test_a_very_long_name_is_stored_safely(kb, client, media):
    name = "阶" * 240 + ".pdf"
    response = _upload(client, kb, name, PDF)
    assert response.status_code == 200
    item = Attachment.objects.get()
    assert len(item.title) <= 120 and item.original_name.endswith(".pdf") and len(item.original_name) <= 120
    [stored] = _stored(media)
    assert "阶" not in str(stored) and stored.suffix == ".pdf"


def test_a_failed_row_leaves_no_file(kb, media, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_event", boom)
    with pytest.raises(RuntimeError):
        services.add_attachment(
            user=kb.editor, article=kb.tiered, file=SimpleUploadedFile("a.pdf", PDF), title="表"
        )
    assert not Attachment.objects.exists() and _stored(media) == []


def test_allowed_files_are_served_as_downloads_to_staff_who_may_read_the_article(kb, client, media):
    _upload(client, kb, "申请表.docx", _docx(), title="用电申请表")
    _upload(client, kb, "电价表.pdf", PDF)
    docx, pdf = Attachment.objects.order_by("id")
    assert docx.content_type.endswith("wordprocessingml.document")
    client.logout()
    url = f"/knowledge/a/{kb.tiered.number}/files/{pdf.pk}/"
    assert client.get(url).status_code == 302  # to the login page

    client.login(username="agent", password=kb.password)
    page = client.get(f"/knowledge/a/{kb.tiered.number}/").content.decode()
    assert url in page and "/media/" not in page
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"


def test_an_attachment_of_an_article_out_of_scope_answers_404(kb, client, media):
    item = services.add_attachment(
        user=kb.editor_mountain,
        article=kb.mountain_rule,
        file=SimpleUploadedFile("rule.txt", "山区抢修时限两小时".encode()),
    )
    client.login(username="clerk_east", password=kb.password)
    assert client.get(f"/knowledge/a/{kb.mountain_rule.number}/files/{item.pk}/").status_code == 404
    assert client.get(f"/knowledge/a/{kb.tiered.number}/files/{item.pk}/").status_code == 404
    client.login(username="clerk_m", password=kb.password)
    response = client.get(f"/knowledge/a/{kb.mountain_rule.number}/files/{item.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
