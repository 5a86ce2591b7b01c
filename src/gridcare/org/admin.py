from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from gridcare.core.masking import mask_phone

from . import services
from .adminpersonal import PersonalDataAdmin
from .models import ADMIN_ROLES, SEPARATION_MESSAGE, ApiToken, RoleAssignment, Unit, User


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "function", "parent", "is_active"]
    list_filter = ["kind", "function", "is_active"]
    search_fields = ["name", "code"]
    autocomplete_fields = ["parent"]

    def save_model(self, request, obj, form, change):
        if not change:
            saved = services.create_unit(
                name=obj.name,
                code=obj.code,
                kind=obj.kind,
                parent=obj.parent,
                function=obj.function,
                phone=obj.phone,
            )
            obj.pk, obj.path, obj.depth = saved.pk, saved.path, saved.depth
        elif "parent" in form.changed_data:
            super().save_model(request, obj, form, change)
            services.move_unit(unit=obj, new_parent=obj.parent)
        else:
            super().save_model(request, obj, form, change)


class RoleAssignmentFormSet(BaseInlineFormSet):
    """The roles of one account as the form stands: at most one of the three administrator roles."""

    def clean(self):
        super().clean()
        roles = [
            form.cleaned_data["role"]
            for form in self.forms
            if form.cleaned_data.get("role") and not form.cleaned_data.get("DELETE")
        ]
        areas = {ADMIN_ROLES[r] for r in roles if r in ADMIN_ROLES}
        if len(areas) > 1:
            raise ValidationError(SEPARATION_MESSAGE)


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    formset = RoleAssignmentFormSet
    extra = 0
    autocomplete_fields = ["unit"]


@admin.register(User)
class UserAdmin(PersonalDataAdmin, DjangoUserAdmin):
    personal_fields = {"mobile": mask_phone}
    list_display = ["username", "full_name", "employee_no", "is_active", "locked_until"]
    search_fields = ["username", "full_name", "employee_no"]
    inlines = [RoleAssignmentInline]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("GridCare"), {"fields": ("full_name", "employee_no", "mobile", "failed_logins", "locked_until")}),
    )
    actions = ["unlock_accounts", "reset_totp"]

    @admin.action(description=_("解除锁定"))
    def unlock_accounts(self, request, queryset):
        for user in queryset:
            services.unlock(user=user)

    @admin.action(description=_("重置双因素认证"))
    def reset_totp(self, request, queryset):
        for user in queryset:
            services.reset_totp(user=user)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "unit"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__full_name", "unit__name"]
    autocomplete_fields = ["user", "unit"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "last_used_at", "revoked"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
    list_filter = ["revoked"]
    autocomplete_fields = ["user"]

    def has_add_permission(self, request):
        return False  # issued with `gridcare create-token` so the key is shown once
