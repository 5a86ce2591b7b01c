"""服务咨询知识库: standard answers so every caller hears the same answer.

An ``Article`` is one question with its standard answer. What agents are served lives on the
article row itself (the content of the latest *published* version, kept in step by
``services.approve_revision``); editors work on ``Revision`` rows (修订稿) that go draft → review →
published. Every published revision stays as a version, so any two versions can be diffed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridcare.core.models import HistoryEntry
from gridcare.org.models import Unit


class Category(models.Model):
    """知识分类: a small tree (政策法规 > …, 电价电费 > 居民阶梯电价, 业务办理 > 新装 …)."""

    name = models.CharField(_("名称"), max_length=60)
    code = models.SlugField(_("编码"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级分类"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["parent_id", "position", "id"]
        verbose_name = _("知识分类")
        verbose_name_plural = _("知识分类")

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent is not None else self.name


class Status(models.TextChoices):
    DRAFT = "draft", _("草稿")
    REVIEW = "review", _("待审核")
    PUBLISHED = "published", _("已发布")
    RETIRED = "retired", _("已下线")


class CustomerClass(models.TextChoices):
    """Mirrors ``customers.Customer.CustomerClass`` (same codes) without importing row logic."""

    RESIDENTIAL = "residential", _("居民")
    NON_RESIDENTIAL = "non_residential", _("一般工商业")
    LARGE_INDUSTRY = "large_industry", _("大工业")
    AGRICULTURE = "agriculture", _("农业生产")
    PUBLIC = "public", _("公用/机关")


class ArticleContent(models.Model):
    """The fields a version of an article carries (shared by Article and Revision)."""

    title = models.CharField(_("标准问题"), max_length=120)
    phrasings = models.TextField(_("常见问法"), blank=True, help_text=_("每行一种客户常见的说法"))
    answer = models.TextField(
        _("标准答复"),
        help_text=_("简易标记：空行分段；“- ”列表；“1. ”编号；“| a | b |”表格；**加粗**。不接受 HTML。"),
    )
    keywords = models.CharField(_("关键词"), max_length=200, blank=True)
    category = models.ForeignKey(Category, verbose_name=_("分类"), on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(
        Unit,
        verbose_name=_("适用区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("留空表示全网适用；选定单位则适用于该单位及其下属单位"),
    )
    customer_classes = models.CharField(
        _("适用客户类别"), max_length=120, blank=True, help_text=_("逗号分隔的类别编码，留空表示全部")
    )
    effective_from = models.DateField(_("生效日期"))
    expires_on = models.DateField(_("失效日期"), null=True, blank=True, help_text=_("当日起不再提供"))

    class Meta:
        abstract = True

    def phrasing_list(self) -> list[str]:
        return [line.strip() for line in self.phrasings.splitlines() if line.strip()]

    def class_codes(self) -> list[str]:
        return [c for c in self.customer_classes.split(",") if c]

    def class_labels(self) -> list[str]:
        labels = dict(CustomerClass.choices)
        return [str(labels.get(c, c)) for c in self.class_codes()]


CONTENT_FIELDS = [
    "title",
    "phrasings",
    "answer",
    "keywords",
    "category_id",
    "region_id",
    "customer_classes",
    "effective_from",
    "expires_on",
]


class Article(ArticleContent):
    """知识条目. The content fields hold the version agents are served (once published).

    The full-text index is not a model field: SQLite keeps it in the FTS5 table
    ``knowledge_article_fts`` and PostgreSQL in the tsvector columns ``search_vector`` /
    ``gram_vector`` (GIN) added by migration 0002; ``search.index_article`` maintains both.
    """

    number = models.CharField(_("编号"), max_length=20, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("维护人"), on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(_("发布版本"), default=0)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"))
    updated_at = models.DateTimeField(_("更新时间"))
    # Segmented text as indexed (space-separated canonical tokens); kept for re-ranking and coverage.
    index_title = models.TextField(editable=False, default="")
    index_body = models.TextField(editable=False, default="")
    helpful_count = models.PositiveIntegerField(_("有帮助"), default=0)
    unhelpful_count = models.PositiveIntegerField(_("没帮助"), default=0)

    class Meta:
        ordering = ["number"]
        indexes = [models.Index(fields=["status", "effective_from"], name="kb_article_served")]
        verbose_name = _("知识条目")
        verbose_name_plural = _("知识条目")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def helpfulness(self) -> float:
        """Share of "this answered the call" votes, smoothed (Laplace) so one vote is not 100%."""
        return (self.helpful_count + 1) / (self.helpful_count + self.unhelpful_count + 2)

    def pending_revision(self) -> Revision | None:
        return self.revisions.filter(state__in=[Revision.State.DRAFT, Revision.State.REVIEW]).first()


class Revision(ArticleContent):
    """修订稿 / 版本: an editor's working copy; once approved it is version ``version_no``."""

    class State(models.TextChoices):
        DRAFT = "draft", _("草稿")
        REVIEW = "review", _("待审核")
        PUBLISHED = "published", _("已发布")
        DISCARDED = "discarded", _("已作废")

    article = models.ForeignKey(
        Article, verbose_name=_("知识条目"), on_delete=models.CASCADE, related_name="revisions"
    )
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.DRAFT)
    version_no = models.PositiveIntegerField(_("版本号"), null=True, blank=True)
    change_note = models.CharField(_("修订说明"), max_length=200, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("编写人"), on_delete=models.PROTECT, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("审核人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"))
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        ordering = ["article_id", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "version_no"],
                name="kb_unique_version",
                condition=models.Q(version_no__isnull=False),
            ),
            # at most one open working copy per article
            models.UniqueConstraint(
                fields=["article"],
                name="kb_one_open_revision",
                condition=models.Q(state__in=["draft", "review"]),
            ),
        ]
        verbose_name = _("修订稿")
        verbose_name_plural = _("修订稿")

    def __str__(self) -> str:
        label = f"v{self.version_no}" if self.version_no else self.get_state_display()
        return f"{self.article.number} {label}"


class ArticleEvent(HistoryEntry):
    """流转记录: one row per workflow action, written by the service that made it (the shape of
    ``core.models.HistoryEntry``; the states are the article's ``Status``)."""

    class Action(models.TextChoices):
        CREATE = "create", _("新建")
        EDIT = "edit", _("修改")
        SUBMIT = "submit", _("提交审核")
        WITHDRAW = "withdraw", _("撤回")
        APPROVE = "approve", _("审核发布")
        REJECT = "reject", _("退回修改")
        RETIRE = "retire", _("下线")
        IMPORT = "import", _("导入发布")

    article = models.ForeignKey(
        Article, verbose_name=_("知识条目"), on_delete=models.CASCADE, related_name="events"
    )
    revision = models.ForeignKey(Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(_("动作"), max_length=30, choices=Action.choices)

    class Meta:
        ordering = ["article_id", "at", "id"]
        verbose_name = _("流转记录")
        verbose_name_plural = _("流转记录")

    def __str__(self) -> str:
        return f"{self.article_id} {self.action} {self.at:%Y-%m-%d %H:%M}"

    @property
    def status_change(self) -> str:
        """ "草稿 → 待审核" when the article's status moved, else ""."""
        if not self.to_state or self.to_state == self.from_state:
            return ""
        labels = dict(Status.choices)
        return f"{labels.get(self.from_state, '—')} → {labels.get(self.to_state, self.to_state)}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """A random stored name (services.add_attachment names files itself; this is the fallback)."""
    import uuid

    return f"knowledge/{instance.article.number}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    """附件 (forms, tariff tables, notices) stored under MEDIA_ROOT with a random name and served
    only by ``views.attachment`` (logged in, scoped, as a download); see ``knowledge.attachments``."""

    article = models.ForeignKey(
        Article, verbose_name=_("知识条目"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("文件"), upload_to=attachment_path)
    title = models.CharField(_("名称"), max_length=120)
    original_name = models.CharField(_("原文件名"), max_length=120, blank=True)
    content_type = models.CharField(_("类型"), max_length=100, blank=True)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"))

    class Meta:
        ordering = ["article_id", "id"]
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self) -> str:
        return self.title


class Feedback(models.Model):
    """ "这条答复解决了来电" / "没解决": feeds the article's helpfulness score."""

    article = models.ForeignKey(
        Article, verbose_name=_("知识条目"), on_delete=models.CASCADE, related_name="feedback"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("座席"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    helpful = models.BooleanField(_("解决了来电"))
    query = models.CharField(_("检索词"), max_length=200, blank=True)
    call_ref = models.CharField(_("来电/工单号"), max_length=40, blank=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("答复反馈")
        verbose_name_plural = _("答复反馈")

    def __str__(self) -> str:
        return f"{self.article_id} {'+' if self.helpful else '-'}"


class SearchGap(models.Model):
    """知识缺口: a query that found no good answer, counted per normalized query and region (the
    unit it was searched for), so each region's maintainers see what their agents missed."""

    class Reason(models.TextChoices):
        NO_RESULT = "no_result", _("无结果")
        WEAK_MATCH = "weak", _("匹配度低")
        REPORTED = "reported", _("座席反馈未找到")

    normalized = models.CharField(_("归一化检索词"), max_length=200)
    region = models.ForeignKey(
        Unit, verbose_name=_("区域"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    query = models.CharField(_("最近一次检索词"), max_length=200)
    reason = models.CharField(_("原因"), max_length=10, choices=Reason.choices)
    count = models.PositiveIntegerField(_("次数"), default=1)
    first_seen = models.DateTimeField(_("首次"))
    last_seen = models.DateTimeField(_("最近"))
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("最近检索人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved = models.BooleanField(_("已处理"), default=False)
    resolved_article = models.ForeignKey(
        Article,
        verbose_name=_("补充的条目"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["resolved", "-count", "-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["normalized", "region"],
                condition=models.Q(region__isnull=False),
                name="kb_gap_unique_query_region",
            ),
            models.UniqueConstraint(
                fields=["normalized"], condition=models.Q(region__isnull=True), name="kb_gap_unique_query"
            ),
        ]
        verbose_name = _("知识缺口")
        verbose_name_plural = _("知识缺口")

    def __str__(self) -> str:
        return f"{self.query} ×{self.count}"
