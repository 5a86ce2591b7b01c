"""System checks that refuse an unsafe production configuration (fail fast)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=False)
def production_settings(app_configs, **kwargs):
    errors = []
    if settings.PRODUCTION:
        if settings.SECRET_KEY.startswith("gridcare-demo"):
            errors.append(
                checks.Error(
                    "GRIDCARE_SECRET_KEY must be set in production.",
                    id="gridcare.E001",
                )
            )
        if settings.DEBUG:
            errors.append(checks.Error("GRIDCARE_DEBUG must be off in production.", id="gridcare.E002"))
        if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
            errors.append(
                checks.Warning(
                    "SQLite is the demo database; set DATABASE_URL to PostgreSQL in production.",
                    id="gridcare.W001",
                )
            )
    return errors
