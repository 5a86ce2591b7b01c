"""Throttles: at most N hits per key in a window of S seconds, counted in the cache.

The cache is Redis in production (``GRIDCARE_REDIS_URL``), so every web worker counts in the same
place; ``cache.add`` + ``cache.incr`` are atomic there (and in the local-memory cache of tests).
A rate is written ``"N/S"`` in settings; ``"0"`` or an empty string turns the throttle off.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache

from .api_errors import TooManyRequests


def parse_rate(rate: str) -> tuple[int, int] | None:
    if not rate or rate.strip() in {"0", ""}:
        return None
    count, _slash, seconds = rate.partition("/")
    return int(count), int(seconds or 60)


def _key(scope: str, key: str, window: int, seconds: int) -> str:
    digest = hashlib.sha256(str(key).encode()).hexdigest()[:32]
    return f"gc-throttle:{scope}:{digest}:{window}:{seconds}"


def _window(scope: str, key: str | None, rate: str) -> tuple[int, int, str, int] | None:
    """(limit, seconds, the current window's cache key, seconds until it ends), or None when the
    rate is off or there is nothing to count by."""
    parsed = parse_rate(rate)
    if parsed is None or key is None:
        return None
    limit, seconds = parsed
    now = time.time()
    window = int(now // seconds)
    return limit, seconds, _key(scope, key, window, seconds), int((window + 1) * seconds - now) + 1


def hit(scope: str, key: str | None, rate: str, *, raise_over: bool = True) -> None:
    """Count one hit of ``key`` in ``scope``; raise TooManyRequests when over the rate (unless
    ``raise_over`` is false: count a failure now, refuse the next attempt with ``check``)."""
    counted = _window(scope, key, rate)
    if counted is None:
        return
    limit, seconds, cache_key, retry_after = counted
    cache.add(cache_key, 0, timeout=seconds + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=seconds + 1)
        count = 1
    if count > limit and raise_over:
        raise TooManyRequests(retry_after=retry_after)


def check(scope: str, key: str | None, rate: str) -> None:
    """Raise TooManyRequests if ``key`` is already over the rate, without counting a hit."""
    counted = _window(scope, key, rate)
    if counted is None:
        return
    limit, _seconds, cache_key, retry_after = counted
    if (cache.get(cache_key) or 0) >= limit:
        raise TooManyRequests(retry_after=retry_after)


def reset(scope: str, key: str, rate: str) -> None:
    parsed = parse_rate(rate)
    if parsed is None:
        return
    _limit, seconds = parsed
    cache.delete(_key(scope, key, int(time.time() // seconds), seconds))
