"""System checks of the production configuration.

DEBUG and the demo secret key are refused by the settings module itself when GRIDCARE_PRODUCTION
is set (a system check is not run by gunicorn); what remains here only warns.
"""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=False)
def production_settings(app_configs: object, **kwargs: object) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if settings.PRODUCTION and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        errors.append(
            checks.Warning(
                "SQLite is the demo database; set DATABASE_URL to PostgreSQL in production.",
                id="gridcare.W001",
            )
        )
    if settings.PRODUCTION and not settings.GRIDCARE_TRUSTED_PROXIES:
        errors.append(
            checks.Warning(
                "GRIDCARE_TRUSTED_PROXIES is empty: behind a reverse proxy every client has the proxy's "
                "address, in the audit log and in the per-address login throttle.",
                id="gridcare.W002",
            )
        )
    if settings.PRODUCTION and "locmem" in settings.CACHES["default"]["BACKEND"]:
        errors.append(
            checks.Warning(
                "GRIDCARE_REDIS_URL is not set: each web process counts login failures of unknown "
                "usernames and the throttles on its own, so several gunicorn workers allow more "
                "guesses and an unknown username locks later than an account (which tells them apart).",
                id="gridcare.W003",
            )
        )
    return errors
