"""Issue #14, item 16: production refuses DEBUG and the demo key when the settings load (every
process: gunicorn runs no system checks)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

LOAD = "import django; django.setup(); print('loaded')"


def load_settings(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRIDCARE_")}
    base["DJANGO_SETTINGS_MODULE"] = "gridcare.settings"
    return subprocess.run(
        [sys.executable, "-c", LOAD], env=base | env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GRIDCARE_DEBUG": "1", "GRIDCARE_SECRET_KEY": "s" * 50}, "GRIDCARE_DEBUG"),
        ({}, "GRIDCARE_SECRET_KEY"),
    ],
)
def test_production_refuses_to_load(env, message):
    result = load_settings(GRIDCARE_PRODUCTION="1", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_the_wsgi_application_refuses_too():
    result = subprocess.run(
        [sys.executable, "-c", "import gridcare.wsgi"],
        env={k: v for k, v in os.environ.items() if not k.startswith("GRIDCARE_")}
        | {"GRIDCARE_PRODUCTION": "1", "GRIDCARE_DEBUG": "1", "GRIDCARE_SECRET_KEY": "s" * 50},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "GRIDCARE_DEBUG" in result.stderr


def test_production_with_a_key_and_without_debug_loads():
    result = load_settings(GRIDCARE_PRODUCTION="1", GRIDCARE_SECRET_KEY="s" * 50)
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


def test_production_without_redis_is_warned_that_throttles_count_per_process(settings):
    from gridcare.core.checks import production_settings

    settings.PRODUCTION = True
    settings.GRIDCARE_TRUSTED_PROXIES = ["127.0.0.1"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "gridcare.W003" in [w.id for w in production_settings(None)]
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://"}
    }
    assert "gridcare.W003" not in [w.id for w in production_settings(None)]
