"""Knowledge-base personas on top of the fixture world (see gridcare/conftest.py).

- 陈编辑: knowledge editor at the city (maintains nationwide and every county's articles)
- 林编辑: knowledge editor at 山区县 only
- 黄班长: shift leader at the city (reviewer)
- a small category tree and three published articles:
  阶梯电价 (nationwide), 欠费复电 (nationwide), 山区抢修时限 (山区县 only)
"""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.knowledge import services
from gridcare.knowledge.models import Category
from gridcare.org.models import Role
from gridcare.org.services import create_staff


def publish(kb, *, number_hint="", region=None, classes="", effective_from=None, expires_on=None, **content):
    """Write, submit and approve an article the way the maintainers do."""
    revision = services.create_article(
        user=kb.editor,
        category=content.pop("category", kb.cat_tariff),
        region=region,
        customer_classes=classes,
        effective_from=effective_from or dt.date(2024, 1, 1),
        expires_on=expires_on,
        **content,
    )
    services.act_on_revision(user=kb.editor, revision=revision, action="submit")
    services.act_on_revision(user=kb.reviewer, revision=revision, action="approve")
    revision.article.refresh_from_db()
    return revision.article


@pytest.fixture
def kb(world):
    w = world
    w.editor = create_staff(
        username="editor", password=w.password, full_name="陈编辑", roles=[(Role.KNOWLEDGE_EDITOR, w.city)]
    )
    w.editor_mountain = create_staff(
        username="editor_m",
        password=w.password,
        full_name="林编辑",
        roles=[(Role.KNOWLEDGE_EDITOR, w.county2)],
    )
    w.reviewer = create_staff(
        username="leader", password=w.password, full_name="黄班长", roles=[(Role.SHIFT_LEADER, w.city)]
    )
    w.mountain_clerk = create_staff(
        username="clerk_m",
        password=w.password,
        full_name="山区受理",
        roles=[(Role.BUSINESS_CLERK, w.mountain)],
    )
    root = Category.objects.create(name="电价电费", code="tariff")
    w.cat_tariff = Category.objects.create(name="居民阶梯电价", code="tariff.tiered", parent=root)
    outage = Category.objects.create(name="停电与抢修", code="outage")
    w.cat_outage = Category.objects.create(name="故障报修", code="outage.repair", parent=outage)
    w.tiered = publish(
        w,
        title="居民阶梯电价是怎么计算的？",
        phrasings="阶梯电价怎么算\n为什么用电越多越贵",
        answer="按年度累计电量分三档：\n\n| 档位 | 电量 | 电价 |\n|---|---|---|\n| 第一档 | 0～2760 | 0.538 |",
        classes="residential",
    )
    w.reconnect = publish(
        w,
        title="欠费停电后交了钱多久能来电？",
        phrasings="交完欠费多长时间恢复供电",
        answer="缴清欠费及违约金后，**24小时内**恢复供电。",
        category=w.cat_outage,
    )
    w.mountain_rule = publish(
        w,
        title="山区县停电抢修多久能到？",
        phrasings="山里停电多久来修",
        answer="特殊边远地区抢修到达时限为2小时。",
        category=w.cat_outage,
        region=w.county2,
    )
    return w
