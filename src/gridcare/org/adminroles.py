"""三员分立 (separation of the three administrators, 等保2.0 level 3) in the admin site.

- 系统管理员 (``Role.ADMIN``) manages configuration, parameters, the unit tree and the business
  records the admin shows (the *system* area: every model not named below).
- 安全管理员 (``Role.SECURITY_ADMIN``) manages accounts, role assignments, groups, permissions
  and API tokens (the *security* area).
- 安全审计员 (``Role.AUDIT_ADMIN``) reads the audit log and nothing else (the *audit* area).

No account holds two of the three roles (``models.check_separation``, run on every ``RoleAssignment``
save and in the admin's forms). Access to the admin follows the roles alone: a Django superuser
flag grants nothing beyond its account's administrator role (``GridCareAdminSite`` wraps every
registered ``ModelAdmin`` in ``AreaGateMixin``), and the roles grant the model permissions of their
area (``AdminRoleBackend``). The audit log is read-only to everyone: its admin refuses add, change
and delete whatever the area.
"""

from __future__ import annotations

from django.contrib import admin

# The roles' areas and their separation (``check_separation``) are the model's rule.
from .models import ADMIN_ROLES, AUDIT, SECURITY, SYSTEM, RoleAssignment
from .types import Viewer

# Models by "app_label.model"; everything else is the system area.
SECURITY_MODELS = frozenset(
    {"org.user", "org.roleassignment", "org.apitoken", "auth.group", "auth.permission"}
)
AUDIT_MODELS = frozenset({"core.auditlog"})

# What each area may do to its models (the audit area only reads).
AREA_ACTIONS = {
    SYSTEM: frozenset({"view", "add", "change", "delete"}),
    SECURITY: frozenset({"view", "add", "change", "delete"}),
    AUDIT: frozenset({"view"}),
}


def area_of(app_label: str, model_name: str) -> str:
    key = f"{app_label}.{model_name}".lower()
    if key in SECURITY_MODELS:
        return SECURITY
    if key in AUDIT_MODELS:
        return AUDIT
    return SYSTEM


def admin_areas(user: Viewer) -> frozenset[str]:
    """The administration areas of an active staff account (cached on the user object)."""
    if not (getattr(user, "is_authenticated", False) and user.is_active and user.is_staff):
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_gc_admin_areas", None)
    if cached is None:
        roles = RoleAssignment.objects.filter(user=user, role__in=list(ADMIN_ROLES)).values_list(
            "role", flat=True
        )
        cached = frozenset(ADMIN_ROLES[role] for role in roles)
        setattr(user, "_gc_admin_areas", cached)  # noqa: B010 (a cache, not a model field)
    return cached


def allows(user: Viewer, app_label: str, model_name: str, action: str) -> bool:
    area = area_of(app_label, model_name)
    return area in admin_areas(user) and action in AREA_ACTIONS[area]


class AdminRoleBackend:
    """Grants a staff account the model permissions of its administrator area (no passwords)."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        app_label, _dot, codename = perm.partition(".")
        action, _sep, model_name = codename.partition("_")
        return bool(model_name) and allows(user_obj, app_label, model_name, action)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        return bool(admin_areas(user_obj))


class AreaGateMixin:
    """Mixed into every registered ModelAdmin: outside the account's area nothing is allowed, for
    superusers too; inside it, the ModelAdmin's own rules (read-only admins stay read-only)."""

    def _area_allows(self, request, action: str) -> bool:
        opts = self.model._meta
        return allows(request.user, opts.app_label, opts.model_name, action)

    def has_view_permission(self, request, obj=None):
        return self._area_allows(request, "view") and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._area_allows(request, "add") and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._area_allows(request, "change") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._area_allows(request, "delete") and super().has_delete_permission(request, obj)

    def has_module_permission(self, request):
        return bool(admin_areas(request.user)) and super().has_module_permission(request)


class GridCareAdminSite(admin.AdminSite):
    site_header = "GridCare 供电客户服务中心 · 管理后台"
    site_title = "GridCare 管理后台"

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and bool(admin_areas(request.user))

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, AreaGateMixin):
            admin_class = type(
                admin_class.__name__, (AreaGateMixin, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)
