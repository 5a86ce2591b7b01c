"""System checks: refuse a sender configuration that cannot work (fail fast at start-up)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from .models import Channel


@checks.register()
def senders_configured(app_configs, **kwargs):
    errors = []
    for channel, path in getattr(settings, "GRIDCARE_SENDERS", {}).items():
        if channel not in Channel.values or channel == Channel.STAFF_INBOX:
            errors.append(
                checks.Error(
                    f"GRIDCARE_SENDERS names channel {channel!r}, which has no sender.",
                    hint=f"Channels with senders: {', '.join(c for c in Channel.values if c != Channel.STAFF_INBOX)}.",
                    id="gridcare.notify.E001",
                )
            )
            continue
        try:
            cls = import_string(path)
        except ImportError as exc:
            errors.append(
                checks.Error(
                    f"GRIDCARE_SENDERS[{channel!r}]: cannot import {path}: {exc}", id="gridcare.notify.E002"
                )
            )
            continue
        if not (isinstance(cls, type) and callable(getattr(cls, "send_batch", None))):
            errors.append(
                checks.Error(
                    f"GRIDCARE_SENDERS[{channel!r}]: {path} is not a sender class (it needs send_batch).",
                    id="gridcare.notify.E003",
                )
            )
    return errors
