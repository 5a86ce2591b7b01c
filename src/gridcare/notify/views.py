from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import queries, services
from .links import link_for


@login_required
def inbox(request):
    """站内消息: warnings, escalations and notices addressed to me."""
    messages = list(queries.inbox_for(request.user.pk)[:100])
    for m in messages:
        m.link = link_for(m.about_type, m.about_id)
    return render(request, "notify/inbox.html", {"inbox": messages})


@login_required
@require_POST
def mark_read(request):
    # Named messages only when ids are posted (even if none of them is valid); else all of mine.
    given = request.POST.getlist("id")
    ids = [int(i) for i in given if i.isdigit()] if given else None
    services.mark_read(user_id=request.user.pk, message_ids=ids)
    return redirect("notify:inbox")
