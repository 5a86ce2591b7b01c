"""Knowledge base pages: thin — they read through ``queries`` and change through ``services``.

Agent side: the search page (``knowledge:search``), the side panel partial (``knowledge:panel``,
for the agent workspace), the article page, feedback and "no answer found" reports.
Maintainer side: article list, editor, workflow actions, versions and diffs, the gap list.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridcare.org.models import Unit

from . import markup, queries, services
from .forms import AttachmentForm, RevisionForm
from .models import CustomerClass, Revision, SearchGap, Status
from .transitions import WORKFLOWS


def _log_search(request, result: queries.SearchResult, unit: Unit | None) -> None:
    if result.query and not result.confident:
        reason = SearchGap.Reason.WEAK_MATCH if result.hits else SearchGap.Reason.NO_RESULT
        services.record_gap(
            user=request.user, query=result.query, reason=reason, region=unit or request.active_unit
        )


def _search_context(request, *, limit: int) -> dict:
    q = request.GET.get("q", "").strip()
    unit = queries.caller_unit(request.user, request.GET.get("unit"), request.active_unit)
    customer_class = request.GET.get("customer_class", "")
    result = queries.search_articles(
        request.user,
        q,
        active_unit=request.active_unit,
        unit=unit,
        customer_class=customer_class,
        limit=limit,
    )
    if request.GET.get("log", "1") != "0":
        _log_search(request, result, unit)
    return {
        "q": q,
        "result": result,
        "unit": unit,
        "customer_class": customer_class,
        "call_ref": request.GET.get("call_ref", "")[:40],
        "class_choices": CustomerClass.choices,
    }


@login_required
def search(request):
    """知识库检索: one box; results swap in by htmx; browse by category when empty."""
    context = _search_context(request, limit=queries.SEARCH_LIMIT)
    if request.htmx:
        return render(request, "knowledge/_results.html", context)
    context["tree"] = queries.category_tree()
    context["is_maintainer"] = services.is_maintainer(request.user)
    category = request.GET.get("category", "")
    if category and not context["q"]:
        context["browse"] = (
            queries.served_articles(request.user, active_unit=request.active_unit)
            .filter(category__code=category)
            .select_related("category", "region")
            | queries.served_articles(request.user, active_unit=request.active_unit)
            .filter(category__parent__code=category)
            .select_related("category", "region")
        ).order_by("number")
        context["category"] = category
    return render(request, "knowledge/search.html", context)


@login_required
def panel(request):
    """Side panel partial for the agent workspace: ?q=&unit=&customer_class=&call_ref=&open=."""
    context = _search_context(request, limit=5)
    opened = request.GET.get("open", "")
    if opened:
        context["opened"] = queries.get_served_article(request.user, opened, active_unit=request.active_unit)
    elif context["result"].hits:
        context["opened"] = context["result"].hits[0].article
    return render(request, "knowledge/_panel.html", context)


@login_required
def article(request, number: str):
    obj = queries.get_served_article(request.user, number, active_unit=request.active_unit)
    return render(
        request,
        "knowledge/article.html",
        {
            "a": obj,
            "answer": markup.render(obj.answer),
            "q": request.GET.get("q", ""),
            "is_maintainer": services.is_maintainer(request.user),
        },
    )


@login_required
@require_POST
def feedback(request, number: str):
    """htmx: "this answered the call" (helpful=1) or not (helpful=0)."""
    obj = queries.get_served_article(request.user, number, active_unit=request.active_unit)
    helpful = request.POST.get("helpful") == "1"
    services.record_feedback(
        user=request.user,
        article=obj,
        helpful=helpful,
        query=request.POST.get("q", ""),
        call_ref=request.POST.get("call_ref", ""),
    )
    obj.refresh_from_db(fields=["helpful_count", "unhelpful_count"])
    return render(request, "knowledge/_feedback_done.html", {"a": obj, "helpful": helpful})


@login_required
@require_POST
def report_gap(request):
    """htmx: the agent says none of the results answered the caller."""
    q = request.POST.get("q", "")
    services.record_gap(
        user=request.user, query=q, reason=SearchGap.Reason.REPORTED, region=request.active_unit
    )
    return HttpResponse(
        "<span class='text-success small' id='gap-reported'>"
        + _("已记录为知识缺口，维护人员会补充。")
        + "</span>"
    )


# ---------------------------------------------------------------- maintainers


def _require_maintainer(request) -> None:
    if not services.is_maintainer(request.user):
        raise PermissionDenied


@login_required
def gaps(request):
    _require_maintainer(request)
    show_all = request.GET.get("all") == "1"
    return render(
        request,
        "knowledge/gaps.html",
        {"gaps": queries.open_gaps(request.user, include_resolved=show_all)[:200], "show_all": show_all},
    )


@login_required
@require_POST
def resolve_gap(request, pk: int):
    _require_maintainer(request)
    gap = queries.open_gaps(request.user, include_resolved=True).filter(pk=pk).first()
    if gap is None:
        raise Http404
    try:
        services.resolve_gap(
            user=request.user, gap=gap, article_number=request.POST.get("article", "").strip()
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("knowledge:gaps")
    messages.success(request, _("已标记为已处理"))
    return redirect("knowledge:gaps")


@login_required
def manage(request):
    _require_maintainer(request)
    status = request.GET.get("status", "")
    articles = queries.maintained_articles(
        request.user, status=status, q=request.GET.get("q", ""), category=request.GET.get("category", "")
    )
    pending = Revision.objects.filter(
        state=Revision.State.REVIEW, article__in=articles.values("id")
    ).select_related("article", "author")
    return render(
        request,
        "knowledge/manage.html",
        {
            "articles": articles[:300],
            "status": status,
            "statuses": Status.choices,
            "q": request.GET.get("q", ""),
            "pending": pending,
            "can_create": services.is_editor(request.user),
        },
    )


@login_required
def create(request):
    _require_maintainer(request)
    form = RevisionForm(request.POST or None, user=request.user, active_unit=request.active_unit)
    if request.method == "POST" and form.is_valid():
        try:
            revision = services.create_article(
                user=request.user, change_note=form.cleaned_data["change_note"], **form.content()
            )
        except (PermissionDenied, ValidationError) as exc:
            form.add_error(None, "; ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("已保存为草稿"))
            return redirect("knowledge:edit", number=revision.article.number)
    return render(request, "knowledge/edit.html", {"form": form, "creating": True})


@login_required
def edit(request, number: str):
    _require_maintainer(request)
    obj = queries.get_maintained_article(request.user, number)
    revision = obj.pending_revision()
    form = None
    if (
        revision is not None
        and revision.state == Revision.State.DRAFT
        and services.can_edit(request.user, obj.region)
    ):
        form = RevisionForm(
            request.POST or None, instance=revision, user=request.user, active_unit=request.active_unit
        )
        if request.method == "POST" and form.is_valid():
            try:
                services.update_revision(
                    user=request.user,
                    revision=revision,
                    change_note=form.cleaned_data["change_note"],
                    **form.content(),
                )
            except (PermissionDenied, ValidationError) as exc:
                form.add_error(None, "; ".join(getattr(exc, "messages", [str(exc)])))
            else:
                messages.success(request, _("修订稿已保存"))
                return redirect("knowledge:edit", number=number)
    versions = queries.versions(obj)
    return render(
        request,
        "knowledge/edit.html",
        {
            "a": obj,
            "revision": revision,
            "revision_answer": markup.render(revision.answer) if revision else "",
            "served_answer": markup.render(obj.answer),
            "form": form,
            "actions": services.allowed_actions(request.user, obj, revision),
            "can_revise": revision is None and services.can_edit(request.user, obj.region),
            "versions": versions,
            "events": obj.events.select_related("actor", "revision").order_by("-at", "-id")[:50],
            "attachment_form": AttachmentForm() if services.can_edit(request.user, obj.region) else None,
        },
    )


ACTION_LABELS: dict[str, Any] = {t.action: t.label for workflow in WORKFLOWS for t in workflow}  # lazy labels


@login_required
@require_POST
def act(request, number: str, action: str):
    _require_maintainer(request)
    obj = queries.get_maintained_article(request.user, number)
    note = request.POST.get("note", "")
    try:
        if action == "retire":
            services.retire_article(user=request.user, article=obj, note=note)
        elif action == "revise":
            services.start_revision(user=request.user, article=obj, change_note=note)
        elif action in ACTION_LABELS:
            revision = obj.pending_revision()
            if revision is None:
                raise ValidationError(_("没有待处理的修订稿"))
            services.act_on_revision(user=request.user, revision=revision, action=action, note=note)
        else:
            raise Http404
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("您的岗位不能执行该操作"))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("已完成：%s") % ACTION_LABELS.get(action, _("开始修订")))
    return redirect("knowledge:edit", number=number)


@login_required
@require_POST
def attach(request, number: str):
    _require_maintainer(request)
    obj = queries.get_maintained_article(request.user, number)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_attachment(
                user=request.user,
                article=obj,
                file=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
            )
            messages.success(request, _("附件已上传"))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
    else:
        messages.error(request, "; ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("knowledge:edit", number=number)


@login_required
def attachment(request, number: str, pk: int):
    """Download an attachment: logged in, the article visible to the user (served to agents, or
    maintained by the editor), always as a file to save, never rendered by the browser."""
    item = queries.get_attachment(request.user, number, pk, active_unit=request.active_unit)
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404("file missing") from exc
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=item.original_name or item.title or "attachment",
        content_type=item.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def diff(request, number: str):
    _require_maintainer(request)
    obj = queries.get_maintained_article(request.user, number)
    # (``queries.versions`` reads numbered revisions only)
    versions = {v.version_no: v for v in queries.versions(obj) if v.version_no is not None}
    pending = obj.pending_revision()
    b, a = request.GET.get("b", ""), request.GET.get("a", "")
    new: Revision | None
    try:
        if b == "draft" and pending is not None:
            new = pending
            old_no = int(a or max(versions, default=0))
        else:
            new_no = int(b or max(versions, default=0))
            new = versions.get(new_no)
            old_no = int(a or new_no - 1)
    except ValueError as exc:
        raise Http404 from exc
    old = versions.get(old_no)
    if new is None or old is None:
        raise Http404
    return render(
        request,
        "knowledge/diff.html",
        {
            "a": obj,
            "old": old,
            "new": new,
            "table": services.diff_html(old, new),
            "versions": sorted(versions),
        },
    )


def panel_url(q: str = "", **params) -> str:
    """The side panel's URL (for the agent workspace to embed)."""
    from urllib.parse import urlencode

    return reverse("knowledge:panel") + "?" + urlencode({"q": q, **params})
