"""The English catalogue: the UI is written in Chinese and the committed .mo turns it into English."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.utils import translation

import gridcare

LOCALE = Path(gridcare.__file__).resolve().parent / "locale" / "en" / "LC_MESSAGES"


def read_po(path: Path) -> list[dict[str, str]]:
    """The entries of a .po file (enough of the format for msgfmt's output of makemessages)."""
    entries, entry, key = [], {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry["flags"] = line[2:]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return [e for e in entries if e.get("msgid")]


def test_english_labels_come_from_the_committed_catalogue():
    assert (LOCALE / "django.mo").is_file(), "compile the catalogue: see docs/testing.md"
    with translation.override("en"):
        assert translation.gettext("客户查询") == "Customer search"
        assert translation.gettext("退出登录") == "Log out"
        assert translation.ngettext("找到 %(n)s 户", "找到 %(n)s 户", 3) % {"n": 3} == "Found 3 customers"
    with translation.override("zh-hans"):
        assert translation.gettext("客户查询") == "客户查询"


def test_every_translation_in_the_po_file_is_compiled_into_the_mo_file():
    entries = read_po(LOCALE / "django.po")
    assert len(entries) > 100
    stale = []
    with translation.override("en"):
        for e in entries:
            if "fuzzy" in e.get("flags", ""):
                continue
            if "msgid_plural" in e:
                got = (
                    translation.ngettext(e["msgid"], e["msgid_plural"], 1),
                    translation.ngettext(e["msgid"], e["msgid_plural"], 2),
                )
                want = (e["msgstr[0]"], e["msgstr[1]"])
            elif "msgctxt" in e:
                got, want = translation.pgettext(e["msgctxt"], e["msgid"]), e["msgstr"]
            else:
                got, want = translation.gettext(e["msgid"]), e["msgstr"]
            translated = all(want) if isinstance(want, tuple) else bool(want)
            if translated and got != want:
                stale.append(e["msgid"])
    assert not stale, f"django.mo is older than django.po; run compilemessages (docs/testing.md): {stale[:5]}"


@pytest.mark.django_db
def test_the_login_page_is_chinese_by_default_and_english_on_request(client):
    assert "用户名" in client.get("/login/").content.decode()
    client.cookies["django_language"] = "en"
    page = client.get("/login/").content.decode()
    assert "Username" in page and 'lang="en"' in page
