"""Reads of the outbox for pages and higher apps."""

from __future__ import annotations

from .models import Channel, Message, MessageQuerySet


def inbox_for(user_id: int | str, *, unread_only: bool = False) -> MessageQuerySet:
    """A staff user's inbox (站内消息), newest first: only that user's messages."""
    qs = Message.objects.filter(channel=Channel.STAFF_INBOX, recipient_address=str(user_id))
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(user_id: int | str) -> int:
    return inbox_for(user_id, unread_only=True).count()


def messages_about(about_type: str, about_id: str) -> MessageQuerySet:
    """Every message queued about one object (e.g. a work order's SMS and warnings), oldest first."""
    return Message.objects.filter(about_type=about_type, about_id=str(about_id)).order_by("created_at", "id")
