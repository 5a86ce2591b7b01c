"""The repository documents itself: nothing it tracks cites a document that lives outside it, and
every relative link of the docs points to a file that exists.

A person who clones GridCare gets only the repository. The project's briefs were first written in
files beside it (BENCHMARKS.md, PRODUCT.md, DESIGN.md, STYLE.md, DOMAIN.md in ../shared); what the
project relies on from them now lives in docs/ (docs/benchmarks.md, docs/workorders.md's time-limit
table, the ADRs), and a citation of those files is an error.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

OUTSIDE = re.compile(r"\b(?:BENCHMARKS|PRODUCT|DESIGN|STYLE|DOMAIN)\.md\b|\.\./shared\b|/work/shared\b")
TEXT_SUFFIXES = {".py", ".md", ".html", ".txt", ".toml", ".cfg", ".ini", ".sh", ".po", ".yml", ".yaml"}
SKIP_PARTS = {".git", ".venv", "node_modules", "var", "__pycache__"}
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Lines that may name such a file, each with its reason. Keep it short.
ALLOWED = {
    # A migration is history: its code is not edited (only its comments). The constant is unused.
    ("src/gridcare/workorders/migrations/0002_seed_policies.py", 'SEED = "PRODUCT.md / 95598 practice"'),
}


def tracked_files() -> list[str]:
    """The repository's files: git's list when there is a checkout, else a walk of the tree."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout
        names = [n for n in out.decode("utf-8").split("\0") if n]
        if names:
            return names
    except (OSError, subprocess.SubprocessError):
        pass
    return [
        p.relative_to(ROOT).as_posix()
        for p in ROOT.rglob("*")
        if p.is_file() and not SKIP_PARTS.intersection(p.relative_to(ROOT).parts)
    ]


def test_no_tracked_file_cites_a_document_outside_the_repository():
    offending = []
    for name in tracked_files():
        path = ROOT / name
        if name == THIS_FILE or path.suffix not in TEXT_SUFFIXES | {""} or not path.is_file():
            continue
        if "static/vendor/" in name:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line) and not any(name == f and s in line for f, s in ALLOWED):
                offending.append(f"{name}:{number}: {line.strip()}")
    assert not offending, (
        "cites a document outside the repository (write what it needs in docs/ and cite that):\n"
        + "\n".join(offending)
    )


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def doc_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_every_relative_link_of_the_docs_points_to_an_existing_file():
    broken = []
    for page in doc_pages():
        for match in LINK.finditer(page.read_text(encoding="utf-8")):
            target = match.group(1) or match.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
                continue  # a URL, an anchor of the same page, or a path of the running site
            file_part = target.split("#", 1)[0].split("?", 1)[0]
            if file_part and not (page.parent / file_part).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, "relative links to missing files:\n" + "\n".join(broken)


def test_every_docs_page_named_in_the_docs_exists():
    """Pages are also named in running text (`docs/repair.md`, docs/decisions/0005-….md)."""
    named = re.compile(r"\bdocs/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b")
    missing = []
    for page in doc_pages():
        for match in named.finditer(page.read_text(encoding="utf-8")):
            if not (ROOT / match.group(0)).exists():
                missing.append(f"{page.relative_to(ROOT)}: {match.group(0)}")
    assert not missing, "docs pages named but missing:\n" + "\n".join(missing)


def test_the_readme_indexes_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md"))
    missing = [p for p in pages if p not in readme]
    assert not missing, "docs pages the README does not link: " + ", ".join(missing)
