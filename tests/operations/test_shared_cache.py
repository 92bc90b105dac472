"""NNRR_CACHE_URL: several web processes share one cache (Redis), so a report's counts are
computed once for all of them; a wrong URL stops the start with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("NNRR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _process(code: str, cache_url: str) -> subprocess.CompletedProcess[str]:
    """A fresh Python process with the project's settings and NNRR_CACHE_URL."""
    env = {
        **os.environ,
        "NNRR_CACHE_URL": cache_url,
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
        "NNRR_DEMO": "1",
    }
    env.pop("DATABASE_URL", None)
    setup = "import django; django.setup(); from django.core.cache import cache\n"
    return subprocess.run(
        [sys.executable, "-c", setup + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _redis_answers() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:
        return False
    return True


def test_two_processes_share_the_cache() -> None:
    if not _redis_answers():
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    key = f"test-shared-{uuid.uuid4().hex}"
    first = _process(f"cache.set({key!r}, 'computed once', 60)", REDIS_URL)
    assert first.returncode == 0, first.stderr
    second = _process(f"print(cache.get({key!r}))", REDIS_URL)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "computed once"
    _process(f"cache.delete({key!r})", REDIS_URL)


def test_without_a_cache_url_each_process_has_its_own() -> None:
    key = f"test-local-{uuid.uuid4().hex}"
    both = _process(
        f"cache.set({key!r}, 'here', 60); print(cache.get({key!r}))",
        "",
    )
    assert both.stdout.strip() == "here", both.stderr
    other = _process(f"print(cache.get({key!r}))", "")
    assert other.stdout.strip() == "None"


def test_a_cache_url_that_is_not_redis_is_refused_at_start() -> None:
    result = _process("pass", "memcached://127.0.0.1:11211")
    assert result.returncode != 0
    assert "NNRR_CACHE_URL must be a Redis URL" in result.stderr
    assert "'memcached'" in result.stderr
