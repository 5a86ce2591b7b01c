"""Audit of security events however they happen (login page, admin site, shell, services):
logins and logouts, password changes, role and account-flag changes, token revocations."""

from __future__ import annotations

from gridcare.core import audit
from gridcare.core.middleware import start_session_clock
from gridcare.core.models import AuditLog

from .models import ApiToken, RoleAssignment, User

ACCOUNT_FLAGS = ("is_active", "is_staff", "is_superuser")


def on_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        start_session_clock(request)
    audit.record(
        action=AuditLog.Action.LOGIN, actor=user, obj=user, object_repr=user.username, request=request
    )


def on_logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    reason = getattr(request, "gridcare_logout_reason", "") or "user"
    audit.record(
        action=AuditLog.Action.LOGOUT,
        actor=user,
        obj=user,
        object_repr=user.username,
        detail={"reason": reason},
        request=request,
    )


def before_user_saved(sender, instance: User, raw=False, update_fields=None, **kwargs):
    instance._gridcare_flags_before = None
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(ACCOUNT_FLAGS):
        return
    instance._gridcare_flags_before = User.objects.filter(pk=instance.pk).values(*ACCOUNT_FLAGS).first()


def after_user_saved(sender, instance: User, created=False, raw=False, **kwargs):
    if raw or created:
        return
    before = getattr(instance, "_gridcare_flags_before", None)
    if before:
        changed = {
            f: [before[f], getattr(instance, f)] for f in ACCOUNT_FLAGS if before[f] != getattr(instance, f)
        }
        if changed:
            audit.record(
                action=AuditLog.Action.ACCOUNT_CHANGED,
                obj=instance,
                object_repr=instance.username,
                detail=changed,
            )
    # AbstractBaseUser.save() keeps the new raw password in _password until after this signal;
    # a hash upgrade at login clears it first, so this is a real change of password.
    if getattr(instance, "_password", None) is not None:
        from . import services

        audit.record(action=AuditLog.Action.PASSWORD_CHANGED, obj=instance, object_repr=instance.username)
        services.revoke_tokens_of(user=instance, reason="password_changed")


def after_role_saved(sender, instance: RoleAssignment, created=False, raw=False, **kwargs):
    if raw:
        return
    audit.record(
        action=AuditLog.Action.ROLE_GRANTED,
        obj=instance.user,
        object_repr=instance.user.username,
        detail={"role": instance.role, "unit": instance.unit_id, "created": created},
    )


def after_role_deleted(sender, instance: RoleAssignment, **kwargs):
    audit.record(
        action=AuditLog.Action.ROLE_REVOKED,
        obj=instance.user,
        object_repr=instance.user.username,
        detail={"role": instance.role, "unit": instance.unit_id},
    )


def before_token_saved(sender, instance: ApiToken, raw=False, **kwargs):
    instance._gridcare_was_revoked = (
        None
        if raw or instance.pk is None
        else ApiToken.objects.filter(pk=instance.pk).values_list("revoked", flat=True).first()
    )


def after_token_saved(sender, instance: ApiToken, created=False, raw=False, **kwargs):
    if not raw and instance.revoked and getattr(instance, "_gridcare_was_revoked", None) is False:
        audit.record(
            action=AuditLog.Action.TOKEN_REVOKED, obj=instance, detail={"for": instance.user.username}
        )


def after_token_deleted(sender, instance: ApiToken, **kwargs):
    audit.record(
        action=AuditLog.Action.TOKEN_REVOKED,
        obj=instance,
        detail={"for": instance.user.username, "deleted": True},
    )


def connect() -> None:
    from django.contrib.auth.signals import user_logged_in, user_logged_out
    from django.db.models.signals import post_delete, post_save, pre_save

    user_logged_in.connect(on_logged_in, dispatch_uid="gridcare-audit-login")
    user_logged_out.connect(on_logged_out, dispatch_uid="gridcare-audit-logout")
    pre_save.connect(before_user_saved, sender=User, dispatch_uid="gridcare-audit-user-pre")
    post_save.connect(after_user_saved, sender=User, dispatch_uid="gridcare-audit-user")
    post_save.connect(after_role_saved, sender=RoleAssignment, dispatch_uid="gridcare-audit-role")
    post_delete.connect(after_role_deleted, sender=RoleAssignment, dispatch_uid="gridcare-audit-role-del")
    pre_save.connect(before_token_saved, sender=ApiToken, dispatch_uid="gridcare-audit-token-pre")
    post_save.connect(after_token_saved, sender=ApiToken, dispatch_uid="gridcare-audit-token")
    post_delete.connect(after_token_deleted, sender=ApiToken, dispatch_uid="gridcare-audit-token-del")
