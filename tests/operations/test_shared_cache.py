"""NNRR_CACHE_URL: several web processes share one cache (Redis), so a report's counts are
computed once for all of them; a wrong URL stops the start with a clear message."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.processes import manage

# manage.py in fresh processes (slow: `make test` runs them, `make test-fast` not).
pytestmark = pytest.mark.slow

REDIS_URL = os.environ.get("NNRR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _process(code: str, cache_url: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    """A fresh process with the project's settings and NNRR_CACHE_URL, running ``code``."""
    return manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.core.cache import cache\n" + code,
        env={"NNRR_CACHE_URL": cache_url, "NNRR_DEMO": "1", "NNRR_DATA_DIR": str(tmp)},
        timeout=60,
    )


def _redis_answers() -> bool:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception:
        return False
    return True


def test_two_processes_share_the_cache(tmp_path: Path) -> None:
    if not _redis_answers():
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    key = f"test-shared-{uuid.uuid4().hex}"
    first = _process(f"cache.set({key!r}, 'computed once', 60)", REDIS_URL, tmp_path)
    assert first.returncode == 0, first.stderr
    second = _process(f"print(cache.get({key!r}))", REDIS_URL, tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "computed once"
    _process(f"cache.delete({key!r})", REDIS_URL, tmp_path)


def test_without_a_cache_url_each_process_has_its_own(tmp_path: Path) -> None:
    key = f"test-local-{uuid.uuid4().hex}"
    both = _process(
        f"cache.set({key!r}, 'here', 60); print(cache.get({key!r}))",
        "",
        tmp_path,
    )
    assert both.stdout.strip() == "here", both.stderr
    other = _process(f"print(cache.get({key!r}))", "", tmp_path)
    assert other.stdout.strip() == "None"


def test_a_cache_url_that_is_not_redis_is_refused_at_start(tmp_path: Path) -> None:
    result = manage(
        "check",
        env={
            "NNRR_CACHE_URL": "memcached://127.0.0.1:11211",
            "NNRR_DEMO": "1",
            "NNRR_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode != 0
    assert "NNRR_CACHE_URL must be a Redis URL" in result.stderr
    assert "'memcached'" in result.stderr
