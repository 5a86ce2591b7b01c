from django.contrib import admin

from .models import Article, ArticleEvent, Category, Feedback, Revision, SearchGap


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "parent", "position"]
    list_filter = ["parent"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Articles change only through the workflow pages (services); the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "title",
        "category",
        "region",
        "status",
        "version",
        "helpful_count",
        "updated_at",
    ]
    list_filter = ["status", "category"]
    search_fields = ["number", "title"]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["article", "version_no", "state", "author", "reviewer", "published_at"]
    list_filter = ["state"]


@admin.register(ArticleEvent)
class ArticleEventAdmin(ReadOnlyAdmin):
    list_display = ["article", "action", "from_state", "to_state", "actor", "at"]
    list_filter = ["action"]


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ["article", "helpful", "user", "query", "at"]


@admin.register(SearchGap)
class SearchGapAdmin(admin.ModelAdmin):
    list_display = ["query", "count", "reason", "resolved", "last_seen"]
    list_filter = ["reason", "resolved"]
