from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "gridcare.org"
    label = "org"
    verbose_name = _("组织与人员")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import signals
        from .models import ApiToken, RoleAssignment, Unit, User
        from .services import forget_tokens

        signals.connect()

        for model in (ApiToken, User, RoleAssignment, Unit):
            post_save.connect(
                forget_tokens, sender=model, dispatch_uid=f"forget-tokens-save-{model.__name__}"
            )
            post_delete.connect(
                forget_tokens, sender=model, dispatch_uid=f"forget-tokens-del-{model.__name__}"
            )
