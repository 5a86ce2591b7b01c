"""The control server of bench/intake: a bare Django + django-ninja project with one app and one table.

Same database server and connection settings as GridCare (DATABASE_URL, persistent connections),
served by the same gunicorn command; no middleware, no sessions, no templates.
"""

import os

import dj_database_url

SECRET_KEY = "bench-control-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["bench.control"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.control.urls"
WSGI_APPLICATION = "bench.control.wsgi.application"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        conn_max_age=int(os.environ.get("GRIDCARE_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"
# sha256 of the bearer token the load generator sends (checked without a query).
BENCH_CONTROL_TOKEN_SHA256 = os.environ.get("BENCH_CONTROL_TOKEN_SHA256", "")
