"""GridCare settings: one module, configured by environment variables (12-factor).

Every knob is read through the typed helpers below. Secrets may be given directly or as
``NAME_FILE`` pointing at a file that holds them (for container/secret-store deployments).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent


def env_str(name: str, default: str = "") -> str:
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("GRIDCARE_DEBUG", False)
# The demo key only ever serves a local demo; settings refuse to load it (and DEBUG) when
# GRIDCARE_PRODUCTION is set (see the end of this module).
SECRET_KEY = env_str("GRIDCARE_SECRET_KEY", "gridcare-demo-insecure-key-change-me")  # noqa: S105
PRODUCTION = env_bool("GRIDCARE_PRODUCTION", False)
ALLOWED_HOSTS = env_list("GRIDCARE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("GRIDCARE_CSRF_TRUSTED_ORIGINS", [])
VAR_DIR = Path(env_str("GRIDCARE_VAR_DIR", str(PROJECT_DIR / "var")))

INSTALLED_APPS = [
    "gridcare.org.adminapp.GridCareAdminConfig",  # django.contrib.admin with 三员分立 (org.adminroles)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # its static Swagger UI: /api/v1/docs loads no script from a CDN
    "gridcare.core",
    "gridcare.notify",
    "gridcare.org",
    "gridcare.customers",
    "gridcare.workorders",
    "gridcare.outages",
    "gridcare.repair",
    "gridcare.applications",
    "gridcare.billing",
    "gridcare.knowledge",
    "gridcare.hotline",
    "gridcare.quality",
    "gridcare.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridcare.core.headers.SecurityHeadersMiddleware",
    "gridcare.core.middleware.CleanInputMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridcare.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "gridcare.org.middleware.ActiveUnitMiddleware",
]

# Requests to /api/ with a bearer token take this shorter chain (gridcare.core.wsgi).
GRIDCARE_TOKEN_API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "gridcare.core.headers.SecurityHeadersMiddleware",
    "gridcare.core.middleware.CleanInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "gridcare.core.wsgi.TokenRequestMiddleware",
]

ROOT_URLCONF = "gridcare.urls"
CSRF_FAILURE_VIEW = "gridcare.core.views.csrf_failure"
WSGI_APPLICATION = "gridcare.wsgi.application"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridcare.org.context_processors.workspace",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("GRIDCARE_DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "gridcare.sqlite3",
            "OPTIONS": {
                # WAL lets the web process and the background worker read while one writes;
                # IMMEDIATE transactions avoid "database is locked" upgrades mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not shared-cache memory: the browser tests' live server threads then wait on
            # SQLite's busy timeout instead of failing with "database table is locked".
            "TEST": {"NAME": str(VAR_DIR / f"test-gridcare-{os.getpid()}.sqlite3")},
        }
    }
# PostgreSQL's JIT compiles a query whose estimated cost passes jit_above_cost: GridCare's queries
# are short (a page, a wall refresh, a count over one day), and compiling one took 25–190 ms where
# running it took 50 (bench/statistics, the command wall). Off for GridCare's connections unless
# GRIDCARE_PG_JIT=on (docs/deployment.md).
PG_SESSION_OPTIONS = "" if env_str("GRIDCARE_PG_JIT", "off") == "on" else "-c jit=off"
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str("GRIDCARE_TEST_DB_NAME", "") or None
    if PG_SESSION_OPTIONS:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = PG_SESSION_OPTIONS
# A read replica (optional): the statistics read from it (gridcare.core.replica).
REPLICA_DATABASE_URL = env_str("GRIDCARE_REPLICA_DATABASE_URL", "")
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = dj_database_url.parse(
        REPLICA_DATABASE_URL, conn_max_age=env_int("GRIDCARE_DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if PG_SESSION_OPTIONS and DATABASES["replica"]["ENGINE"].endswith("postgresql"):
        DATABASES["replica"].setdefault("OPTIONS", {})["options"] = PG_SESSION_OPTIONS
DATABASE_ROUTERS = ["gridcare.core.replica.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work (Django Tasks API via the django-tasks backport) ------------------------
TASKS_BACKEND = env_str("GRIDCARE_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")
TASKS = {"default": {"BACKEND": TASKS_BACKEND}}
if TASKS_BACKEND == "django_tasks_rq.RQBackend":
    INSTALLED_APPS += ["django_rq"]
    RQ_QUEUES = {"default": {"URL": env_str("GRIDCARE_REDIS_URL", "redis://127.0.0.1:6379/0")}}

# --- Outbound messages (notify: outbox + senders, see docs/notify.md) -------------------------
# Sender class per channel; channels not named here write to the log (LogSender). Override with a
# JSON object, e.g. GRIDCARE_SENDERS='{"email": "gridcare.notify.senders.SmtpEmailSender"}'.
GRIDCARE_SENDERS = dict.fromkeys(
    ("sms", "email", "wechat", "app_push", "log"), "gridcare.notify.senders.LogSender"
)
try:
    GRIDCARE_SENDERS |= json.loads(env_str("GRIDCARE_SENDERS", "") or "{}")
except (ValueError, TypeError) as exc:
    raise ImproperlyConfigured(
        f"GRIDCARE_SENDERS must be a JSON object channel -> class path: {exc}"
    ) from exc
GRIDCARE_NOTIFY_MAX_ATTEMPTS = env_int("GRIDCARE_NOTIFY_MAX_ATTEMPTS", 8)  # then the message is "dead"
GRIDCARE_NOTIFY_RETRY_SECONDS = env_int("GRIDCARE_NOTIFY_RETRY_SECONDS", 30)  # doubles per attempt
GRIDCARE_NOTIFY_RETRY_MAX_SECONDS = env_int("GRIDCARE_NOTIFY_RETRY_MAX_SECONDS", 3600)
GRIDCARE_NOTIFY_LEASE_SECONDS = env_int("GRIDCARE_NOTIFY_LEASE_SECONDS", 300)  # resend if a worker died
GRIDCARE_NOTIFY_BATCH_SIZE = env_int("GRIDCARE_NOTIFY_BATCH_SIZE", 200)
GRIDCARE_NOTIFY_TASK_SECONDS = env_int("GRIDCARE_NOTIFY_TASK_SECONDS", 30)  # then a continuation task
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "GridCare <noreply@gridcare.localhost>")

# A task row a killed worker left RUNNING (core.periodic.release_abandoned_tasks): released once
# its worker has not beaten for this long (workers beat every 5 s) — or, for a worker without a
# heartbeat, this long after it started; tasks safe to run twice are queued again (at most
# GRIDCARE_TASK_MAX_CLAIMS claims in all), any other task is marked failed with the reason.
GRIDCARE_WORKER_LEASE_SECONDS = env_int("GRIDCARE_WORKER_LEASE_SECONDS", 60)
GRIDCARE_TASK_MAX_RUNNING_SECONDS = env_int("GRIDCARE_TASK_MAX_RUNNING_SECONDS", 3600)
GRIDCARE_TASK_MAX_CLAIMS = env_int("GRIDCARE_TASK_MAX_CLAIMS", 3)
GRIDCARE_TASKS_RERUN_WHEN_LOST = [  # idempotent: a second run does nothing the first one did
    "gridcare.notify.tasks.deliver_pending_messages",
    "gridcare.workorders.tasks.check_deadline",
    "gridcare.workorders.tasks.sweep_deadlines",
    "gridcare.repair.tasks.roll_up_fault_calls",
    "gridcare.repair.tasks.check_long_outage",
    "gridcare.outages.tasks.queue_outage_notices",
    "gridcare.quality.tasks.refresh_statistics",
    "gridcare.billing.tasks.send_arrears_reminders",
    "gridcare.billing.tasks.raise_reconnection_warnings",
    "gridcare.billing.tasks.run_533_control",
    "gridcare.billing.tasks.check_prepaid_accounts",
]

# Reconciliation sweeps the worker enqueues at an interval (dotted task path, seconds).
GRIDCARE_PERIODIC_TASKS = [
    ("gridcare.workorders.tasks.sweep_deadlines", env_int("GRIDCARE_SWEEP_SECONDS", 300)),
    # Outbox: delivers anything whose delivery task was lost (crash between commit and enqueue).
    ("gridcare.notify.tasks.deliver_pending_messages", env_int("GRIDCARE_NOTIFY_SWEEP_SECONDS", 60)),
    # Fault calls queued over the API and not yet processed (a lost wake-up), then the roll-up.
    ("gridcare.repair.tasks.roll_up_fault_calls", env_int("GRIDCARE_ROLLUP_SWEEP_SECONDS", 60)),
    # The 12-hour warning of open outage events (a lost scheduled check).
    ("gridcare.repair.tasks.check_long_outage", env_int("GRIDCARE_OUTAGE_SWEEP_SECONDS", 600)),
    # 督办通报: each unit's bulletin once its slot (BulletinSetting.times) has come.
    ("gridcare.quality.tasks.issue_supervision_bulletins", env_int("GRIDCARE_BULLETIN_SWEEP_SECONDS", 120)),
    # 质检抽样: last week's sample and this week's must-check calls (idempotent).
    ("gridcare.quality.tasks.draw_inspections", env_int("GRIDCARE_INSPECTION_SWEEP_SECONDS", 3600)),
    # 业扩时限: node warnings of business applications whose next warning time has passed.
    ("gridcare.applications.tasks.sweep_node_deadlines", env_int("GRIDCARE_APPLICATION_SWEEP_SECONDS", 300)),
    # 统计汇总: the statistics roll-ups a change made stale, and today's finished hours.
    ("gridcare.quality.tasks.refresh_statistics", env_int("GRIDCARE_STATISTICS_SWEEP_SECONDS", 60)),
    # 电费: reminders (催费) of overdue bills, reconnection warnings, the "533" runs, prepaid checks.
    ("gridcare.billing.tasks.send_arrears_reminders", env_int("GRIDCARE_BILLING_REMINDER_SECONDS", 3600)),
    (
        "gridcare.billing.tasks.raise_reconnection_warnings",
        env_int("GRIDCARE_BILLING_RECONNECT_SWEEP_SECONDS", 300),
    ),
    ("gridcare.billing.tasks.run_533_control", env_int("GRIDCARE_BILLING_533_SWEEP_SECONDS", 300)),
    ("gridcare.billing.tasks.check_prepaid_accounts", env_int("GRIDCARE_BILLING_PREPAID_SWEEP_SECONDS", 300)),
]
# "533" arrears control: the morning, noon and evening runs (local HH:MM, three of them).
GRIDCARE_BILLING_533_SLOTS = env_list("GRIDCARE_BILLING_533_SLOTS", ["08:30", "12:00", "17:00"])
# A call before a non-residential cut counts this many hours (then the customer is called again).
GRIDCARE_BILLING_CALL_VALID_HOURS = env_int("GRIDCARE_BILLING_CALL_VALID_HOURS", 24)
# One run of the roll-up refresh stops after about this long (the next run goes on).
GRIDCARE_STATISTICS_BUDGET_SECONDS = env_int("GRIDCARE_STATISTICS_BUDGET_SECONDS", 45)

# --- Cache and sessions ----------------------------------------------------------------------
REDIS_URL = env_str("GRIDCARE_REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Session timeout: an idle staff session ends after this many minutes.
SESSION_COOKIE_AGE = env_int("GRIDCARE_SESSION_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

# Lockout after repeated failed logins.
GRIDCARE_LOGIN_MAX_FAILURES = env_int("GRIDCARE_LOGIN_MAX_FAILURES", 5)
GRIDCARE_LOCKOUT_MINUTES = env_int("GRIDCARE_LOCKOUT_MINUTES", 15)
# A bearer token, its user and the user's scope are remembered per process this long (0: never).
# Revoking a token or changing roles takes effect at once in the process that made the change and
# within this many seconds in the others.
GRIDCARE_TOKEN_CACHE_SECONDS = env_int("GRIDCARE_TOKEN_CACHE_SECONDS", 10)

# Password rules, throttling, MFA, session lifetime: see "Authentication and session security" below.

# --- Internationalization ------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Working hours used by "add N working hours" (local time, Asia/Shanghai).
GRIDCARE_WORKDAY_START = env_str("GRIDCARE_WORKDAY_START", "08:30")
GRIDCARE_WORKDAY_END = env_str("GRIDCARE_WORKDAY_END", "17:30")

# Staffing (quality.staffing): the average handling time, in seconds, used when the history of the
# chosen unit and days has no answered call (a new center, a holiday never seen before).
GRIDCARE_STAFFING_DEFAULT_AHT_SECONDS = env_int("GRIDCARE_STAFFING_DEFAULT_AHT_SECONDS", 300)

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = VAR_DIR / "media"
# Knowledge attachments: larger uploads are refused (the proxy in front should cap the body too).
GRIDCARE_ATTACHMENT_MAX_MB = env_int("GRIDCARE_ATTACHMENT_MAX_MB", 10)

# --- Security headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Content-Security-Policy (gridcare.core.headers): scripts only from this site, never inline.
# GRIDCARE_CSP replaces the whole policy; GRIDCARE_CSP_REPORT_ONLY=1 only reports violations.
if env_str("GRIDCARE_CSP", ""):
    GRIDCARE_CSP = env_str("GRIDCARE_CSP", "")
GRIDCARE_CSP_REPORT_ONLY = env_bool("GRIDCARE_CSP_REPORT_ONLY", False)
# HTTPS only in production: redirect plain HTTP and tell browsers to keep to HTTPS (HSTS).
SECURE_SSL_REDIRECT = env_bool("GRIDCARE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]  # probes of the orchestrator speak plain HTTP
SECURE_HSTS_SECONDS = env_int("GRIDCARE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GRIDCARE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("GRIDCARE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 20
GRIDCARE_SITE_NAME = _("GridCare 供电客户服务中心")


# --- Authentication and session security (issue #14: items 12-17, 22) -----------------------
# One login path (/admin/login/ redirects to /login/) and one lockout, in the backend every
# authenticate() goes through.
AUTHENTICATION_BACKENDS = [
    "gridcare.org.backends.LockoutBackend",  # the one login path (authenticates nothing else)
    "gridcare.org.adminroles.AdminRoleBackend",  # admin permissions follow the 三员 roles; no login
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("GRIDCARE_PASSWORD_MIN_LENGTH", 12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "gridcare.org.passwords.ProjectWordValidator"},
]
# Throttles, "<requests>/<seconds>" per key, counted in the cache (Redis in production, so shared by
# every worker); over the limit a page or API call answers 429 with Retry-After.
GRIDCARE_THROTTLE_LOGIN_IP = env_str("GRIDCARE_THROTTLE_LOGIN_IP", "30/300")  # login attempts per IP
GRIDCARE_THROTTLE_LOGIN_ACCOUNT = env_str("GRIDCARE_THROTTLE_LOGIN_ACCOUNT", "10/300")  # per username
GRIDCARE_THROTTLE_PASSWORD_CHECK = env_str("GRIDCARE_THROTTLE_PASSWORD_CHECK", "5/300")  # old password
GRIDCARE_THROTTLE_BAD_TOKEN_IP = env_str("GRIDCARE_THROTTLE_BAD_TOKEN_IP", "20/60")  # unknown tokens
# Requests per API token; off by default, as an IVR or channel integration bursts ("0": no limit).
GRIDCARE_THROTTLE_TOKEN = env_str("GRIDCARE_THROTTLE_TOKEN", "0")
# TOTP second factor for superusers, staff (admin site) and roles that may reveal personal data.
GRIDCARE_REQUIRE_MFA = env_bool("GRIDCARE_REQUIRE_MFA", PRODUCTION)
GRIDCARE_MFA_ISSUER = env_str("GRIDCARE_MFA_ISSUER", "GridCare")
# Sessions: idle timeout is SESSION_COOKIE_AGE (polling does not count as activity); a session
# ends this many hours after login whatever the activity.
GRIDCARE_SESSION_MAX_HOURS = env_int("GRIDCARE_SESSION_MAX_HOURS", 12)
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
    "gridcare.core.middleware.SessionLifetimeMiddleware",
)
# The client address for audit and throttles: REMOTE_ADDR, unless it is one of these proxies
# (addresses or networks), then the nearest untrusted address of this header.
GRIDCARE_TRUSTED_PROXIES = env_list("GRIDCARE_TRUSTED_PROXIES", [])
GRIDCARE_CLIENT_IP_HEADER = env_str("GRIDCARE_CLIENT_IP_HEADER", "HTTP_X_FORWARDED_FOR")
# Refuse to start, in every process (gunicorn runs no system checks), with DEBUG or the demo key.
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("GRIDCARE_DEBUG must be off when GRIDCARE_PRODUCTION is set.")
if PRODUCTION and SECRET_KEY.startswith("gridcare-demo"):
    raise ImproperlyConfigured("GRIDCARE_SECRET_KEY must be set when GRIDCARE_PRODUCTION is set.")
