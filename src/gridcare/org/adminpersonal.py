"""Personal data in the admin: masked in lists and forms; the full value only on an explicit,
audited request (``?reveal=1`` on a change page) by an account that may change the record.

A ModelAdmin or inline lists its personal fields and their masks::

    class CustomerAdmin(PersonalDataAdmin, admin.ModelAdmin):
        personal_fields = {"id_number": mask_id_number}

Without ``reveal`` the fields leave the form (so a save never writes a masked value back) and show
masked and read-only; the list shows the masked value. With ``reveal`` (and the change permission)
they show whole and editable, and the read is written to the audit log (``view_sensitive``, via
admin), naming the record and the fields, the inlines' fields included.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from gridcare.core import audit
from gridcare.core.models import AuditLog

REVEAL_PARAM = "reveal"


def _masked_display(field_name: str, mask: Callable[[str], str], label: str):
    def display(obj) -> str:
        return mask(getattr(obj, field_name, "") or "") if obj is not None else ""

    display.short_description = label
    return display


class PersonalDataMixin:
    personal_fields: dict[str, Callable[[str], str]] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, mask in self.personal_fields.items():
            label = self.model._meta.get_field(name).verbose_name
            setattr(self, f"masked_{name}", _masked_display(name, mask, label))

    def revealing(self, request) -> bool:
        return bool(
            request and request.GET.get(REVEAL_PARAM) == "1" and getattr(request, "_gc_reveal", False)
        )

    def _masking(self, request, obj=None, *, form: bool = True) -> bool:
        if form and obj is None:
            return False  # an add form: nothing stored yet to hide
        return bool(self.personal_fields) and not self.revealing(request)

    def _swap(self, names):
        return [f"masked_{n}" if n in self.personal_fields else n for n in names]

    def get_list_display(self, request):
        return self._swap(super().get_list_display(request))

    def get_exclude(self, request, obj=None):
        excluded = super().get_exclude(request, obj)
        if not self._masking(request, obj):
            return excluded
        exclude = list(excluded or [])
        return exclude + [n for n in self.personal_fields if n not in exclude]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if self._masking(request, obj):
            readonly = self._swap(readonly) + [
                f"masked_{n}" for n in self.personal_fields if f"masked_{n}" not in self._swap(readonly)
            ]
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not self._masking(request, obj):
            return fieldsets
        result = []
        for title, options in fieldsets:
            options = dict(options)
            options["fields"] = [
                tuple(self._swap(f)) if isinstance(f, list | tuple) else self._swap([f])[0]
                for f in options.get("fields", ())
            ]
            result.append((title, options))
        return result


class PersonalDataAdmin(PersonalDataMixin):
    """For ModelAdmins: the reveal link, the permission to reveal and the audit of the read."""

    def can_reveal(self, request, obj) -> bool:
        return self.has_change_permission(request, obj)

    def _personal_inlines(self, request, obj):
        return [i for i in self.get_inline_instances(request, obj) if getattr(i, "personal_fields", None)]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        request._gc_reveal = False
        if request.GET.get(REVEAL_PARAM) == "1":
            obj = self.get_object(request, admin.utils.unquote(object_id))
            if obj is not None and self.can_reveal(request, obj):
                request._gc_reveal = True
                if request.method == "GET":
                    fields = list(self.personal_fields)
                    for inline in self._personal_inlines(request, obj):
                        fields += [f"{inline.model._meta.model_name}.{n}" for n in inline.personal_fields]
                    with transaction.atomic():
                        audit.record(
                            action=AuditLog.Action.VIEW_SENSITIVE,
                            actor=request.user,
                            obj=obj,
                            request=request,
                            detail={"via": "admin", "fields": fields},
                        )
        extra_context = dict(extra_context or {})
        return super().change_view(request, object_id, form_url, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and obj is not None and not self.revealing(request) and self.can_reveal(request, obj):
            has_personal = bool(self.personal_fields) or bool(self._personal_inlines(request, obj))
            if has_personal:
                context["subtitle"] = format_html(
                    '{} · <a href="?{}=1" id="reveal-personal-data">{}</a>',
                    context.get("subtitle") or str(obj),
                    REVEAL_PARAM,
                    _("显示完整个人信息（将记入审计日志）"),
                )
        return super().render_change_form(request, context, add, change, form_url, obj)


class PersonalTabularInline(PersonalDataMixin, admin.TabularInline):
    """A tabular inline whose rows do not print the object's name (it may be the phone itself)."""

    template = "admin/edit_inline/tabular_personal.html"
