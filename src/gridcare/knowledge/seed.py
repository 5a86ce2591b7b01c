"""The demo's starting content: the category tree and ~160 standard answers (``data/``).

Article files (``data/articles/*.txt``) hold blocks like::

    ### KB00001 | tariff.tiered | residential[,…] [| REGION_UNIT_CODE]
    问：居民阶梯电价是怎么计算的？
    说：阶梯电价怎么算            (one line per common phrasing)
    词：阶梯电价 年度电量          (keywords, optional)

    the answer in the light markup of ``markup.py`` …

Loading is idempotent: categories by code, articles by number (an unchanged article is left
alone; a changed one becomes a new version). Articles for a region whose unit code does not exist
in this database are skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from gridcare.org.models import Role, RoleAssignment, Unit, User

from . import services
from .models import Category
from .search.text import DATA_DIR

SEED_EFFECTIVE_FROM = dt.date(2024, 1, 1)
SEED_SOURCE = "初始知识库（95598服务咨询知识库标准答复）"


@dataclass
class SeedArticle:
    number: str
    category: str
    classes: list[str]
    region_code: str
    title: str
    phrasings: list[str] = field(default_factory=list)
    keywords: str = ""
    answer: str = ""


def parse_articles(path: Path) -> list[SeedArticle]:
    articles: list[SeedArticle] = []
    current: SeedArticle | None = None
    body: list[str] = []
    in_body = False

    def flush() -> None:
        if current is not None:
            current.answer = "\n".join(body).strip()
            articles.append(current)

    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("### "):
            flush()
            parts = [p.strip() for p in raw[4:].split("|")]
            classes = [c for c in parts[2].split(",") if c] if len(parts) > 2 else []
            current = SeedArticle(
                number=parts[0],
                category=parts[1],
                classes=classes,
                region_code=parts[3] if len(parts) > 3 else "",
                title="",
            )
            body, in_body = [], False
            continue
        if current is None:
            continue
        if not in_body:
            line = raw.strip()
            if line.startswith("问："):
                current.title = line[2:].strip()
            elif line.startswith("说："):
                current.phrasings.append(line[2:].strip())
            elif line.startswith("词："):
                current.keywords = line[2:].strip()
            elif not line:
                in_body = True
            else:
                in_body = True
                body.append(raw)
        else:
            body.append(raw)
    flush()
    return articles


def all_seed_articles(data_dir: Path = DATA_DIR) -> list[SeedArticle]:
    found: list[SeedArticle] = []
    for path in sorted((data_dir / "articles").glob("*.txt")):
        found.extend(parse_articles(path))
    return found


def load_categories(data_dir: Path = DATA_DIR) -> dict[str, Category]:
    by_code: dict[str, Category] = {c.code: c for c in Category.objects.all()}
    position = 0
    for raw in (data_dir / "categories.txt").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        code, name, parent_code = [p.strip() for p in (raw.split("|") + [""])[:3]]
        position += 1
        parent = by_code[parent_code] if parent_code else None
        category = by_code.get(code)
        if category is None:
            category = Category.objects.create(code=code, name=name, parent=parent, position=position)
        elif (category.name, category.parent_id, category.position) != (
            name,
            getattr(parent, "pk", None),
            position,
        ):
            category.name, category.parent, category.position = name, parent, position
            category.save()
        by_code[code] = category
    return by_code


def default_owner() -> User:
    """A knowledge editor at the top of the tree, or the seeding system account."""
    editor = (
        RoleAssignment.objects.filter(role=Role.KNOWLEDGE_EDITOR)
        .select_related("user", "unit")
        .order_by("unit__depth", "user__username")
        .first()
    )
    if editor is not None:
        return editor.user
    user, created = User.objects.get_or_create(
        username="kb-seed", defaults={"full_name": "知识库初始内容", "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


@dataclass
class SeedReport:
    categories: int = 0
    created_or_changed: int = 0
    unchanged: int = 0
    skipped_regions: list[str] = field(default_factory=list)


def seed_knowledge(*, owner: Any = None, data_dir: Path = DATA_DIR) -> SeedReport:
    report = SeedReport()
    with transaction.atomic():
        categories = load_categories(data_dir)
        report.categories = len(categories)
        owner = owner or default_owner()
        units = {u.code: u for u in Unit.objects.all()}
        for item in all_seed_articles(data_dir):
            region = None
            if item.region_code:
                region = units.get(item.region_code)
                if region is None:
                    report.skipped_regions.append(f"{item.number}@{item.region_code}")
                    continue
            _, changed = services.import_article(
                user=owner,
                number=item.number,
                source=SEED_SOURCE,
                title=item.title,
                phrasings=item.phrasings,
                keywords=item.keywords,
                answer=item.answer,
                category=categories[item.category],
                region=region,
                customer_classes=item.classes,
                effective_from=SEED_EFFECTIVE_FROM,
                expires_on=None,
            )
            if changed:
                report.created_or_changed += 1
            else:
                report.unchanged += 1
    return report
