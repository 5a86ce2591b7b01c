from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from gridcare.org import scoping
from gridcare.org.models import Unit

from . import attachments
from .models import Category, CustomerClass, Revision


class RevisionForm(forms.ModelForm):
    """Shape of an article version only; the rules live in ``services``."""

    customer_classes = forms.MultipleChoiceField(
        label=_("适用客户类别"),
        choices=CustomerClass.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("都不选表示全部客户"),
    )
    change_note = forms.CharField(label=_("修订说明"), max_length=200, required=False)

    class Meta:
        model = Revision
        fields = [
            "title",
            "phrasings",
            "answer",
            "keywords",
            "category",
            "region",
            "customer_classes",
            "effective_from",
            "expires_on",
            "change_note",
        ]
        widgets = {
            "phrasings": forms.Textarea(attrs={"rows": 4}),
            "answer": forms.Textarea(attrs={"rows": 12, "class": "font-monospace"}),
            "effective_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "expires_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, user=None, active_unit=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.select_related("parent").order_by(
            "parent__position", "position"
        )
        regions = Unit.objects.exclude(kind=Unit.Kind.TEAM)
        if user is not None:  # the regions in the user's scope, narrowed by the unit switcher
            scoped = scoping.restrict(regions, user, "id", active_unit)
            if active_unit is not None and self.instance.region_id:  # a draft keeps its own region
                scoped = scoped | regions.filter(pk=self.instance.region_id)
            regions = scoped
        self.fields["region"].queryset = regions
        self.fields["region"].empty_label = _("全网适用")
        if self.instance and self.instance.pk:
            self.initial["customer_classes"] = self.instance.class_codes()
        for name, field in self.fields.items():
            if name != "customer_classes":
                field.widget.attrs.setdefault("class", "form-control")
        self.fields["category"].widget.attrs["class"] = "form-select"
        self.fields["region"].widget.attrs["class"] = "form-select"

    def content(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k != "change_note"}
        return data


class AttachmentForm(forms.Form):
    title = forms.CharField(label=_("附件名称"), max_length=120, required=False)
    file = forms.FileField(
        label=_("文件"), widget=forms.ClearableFileInput(attrs={"accept": attachments.ACCEPT})
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        attachments.check(file)  # type by content and size; the service checks again
        return file
