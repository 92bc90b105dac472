"""With NNRR_PRODUCTION=1 the demo cannot run: the settings refuse NNRR_DEMO at start-up (so
gunicorn never serves the Test IDP), and without demo mode the Test IDP and demo pages are not
mounted at all. These start real processes: the settings are read once per process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.processes import manage

# gunicorn and manage.py in fresh processes (slow: `make test` runs them, `make test-fast` not).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    # Production also needs the licensed wording of ODI, NDI and EQ-5D-5L (docs/forms.md).
    from tests.questionnaires.test_wording import write_wording

    wording = tmp / "wording"
    wording.mkdir(exist_ok=True)
    write_wording(wording, ("odi", "ndi", "eq5d5l"))
    return {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
        "NNRR_DATA_DIR": str(tmp),
        "NNRR_PRODUCTION": "1",
        "NNRR_SECRET_KEY": "p" * 30 + "-production-mode-test-secret-0123456789",
        "NNRR_ALLOWED_HOSTS": "127.0.0.1",
        "NNRR_PSEUDONYM_KEY": "q" * 40,
        "NNRR_FORM_WORDING_DIR": str(wording),
        "DATABASE_URL": f"sqlite:///{tmp / 'production.sqlite3'}",
        **extra,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(port: int, path: str) -> int | None:
    """The status code, or None when nothing answers (refused or reset connection)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError):
        return None


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(GUNICORN), "nnrr.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until_serving(process: subprocess.Popen[str], port: int, seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.3)
    return False


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stdout.read() if process.stdout else ""


def test_gunicorn_with_production_and_demo_refuses_to_serve_the_test_idp(tmp_path: Path) -> None:
    port = _free_port()
    process = _gunicorn(_env(tmp_path, NNRR_DEMO="1"), port)
    try:
        # gunicorn's master may open the port before its workers fail to boot.
        serving = _wait_until_serving(process, port, seconds=30)
        status = _get(port, "/testidp/") if serving else None
        process.wait(timeout=60)
    finally:
        output = _stop(process)
    # The workers cannot load the settings, so gunicorn gives up: nothing answers at all.
    assert status is None, f"gunicorn answered /testidp/ with {status}"
    assert process.returncode != 0
    assert "NNRR_DEMO and NNRR_TESTING must not be set when NNRR_PRODUCTION=1" in output


def test_manage_py_with_production_and_demo_fails_at_start_up(tmp_path: Path) -> None:
    result = manage("migrate", "--noinput", env=_env(tmp_path, NNRR_DEMO="1"))
    assert result.returncode != 0
    assert "must not be set when NNRR_PRODUCTION=1" in result.stderr
    assert not (tmp_path / "production.sqlite3").exists()  # nothing ran


@pytest.fixture(scope="module")
def production_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """gunicorn with production settings (no demo), static files collected as at deploy."""
    tmp = tmp_path_factory.mktemp("production")
    env = _env(tmp)
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"]):
        manage(*command, env=env, timeout=300, check=True)
    port = _free_port()
    process = _gunicorn(env, port)
    try:
        assert _wait_until_serving(process, port), _stop(process)
        yield port
    finally:
        _stop(process)


def test_production_server_does_not_mount_the_test_idp(production_server: int) -> None:
    assert _get(production_server, "/logg-inn/") == 200
    assert _get(production_server, "/testidp/") == 404


def test_production_server_does_not_mount_the_demo_outbox(production_server: int) -> None:
    assert _get(production_server, "/demo/meldinger/") == 404
