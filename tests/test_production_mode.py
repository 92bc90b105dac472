"""With NNRR_PRODUCTION=1 the demo cannot run: the settings refuse NNRR_DEMO at start-up (so
gunicorn never serves the Test IDP), and without demo mode the Test IDP and demo pages are not
mounted at all. gunicorn and the worker refuse to start as a database role that could lift the
audit log's triggers. These start real processes: the settings are read once per process; the
production servers run on a database of their own, with an owner and an application role as in
docs/operations.md, on the PostgreSQL server the suite uses (skipped when none answers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
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
        # Loading the settings connects to nothing; the servers below get a real database.
        "DATABASE_URL": "postgres://nnrr_app@db.invalid:5432/nnrr",
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


def _server_url(dbname: str, user: str = "") -> str:
    """A URL of the PostgreSQL server the suite uses (DATABASE_URL's when it is PostgreSQL)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        base = "postgres://postgres@127.0.0.1:5432/postgres"
    scheme, rest = base.split("://", 1)
    credentials, _, location = rest.rpartition("@")
    host = location.split("/", 1)[0]
    return f"{scheme}://{user or credentials}@{host}/{dbname}"


@pytest.fixture(scope="module")
def production_database() -> Iterator[dict[str, str]]:
    """A database of its own, owned by an owner role; an application role that may read and
    write rows and owns nothing; migrated by the owner. Their URLs; all dropped afterwards."""
    try:
        admin = psycopg.connect(_server_url("postgres"), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip("no PostgreSQL server answers")
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    name, owner, app = f"nnrr_prod_{tag}", f"nnrr_owner_{tag}", f"nnrr_app_{tag}"
    with admin:
        admin.execute(f"CREATE ROLE {owner} LOGIN")
        admin.execute(f"CREATE ROLE {app} LOGIN")
        admin.execute(f"CREATE DATABASE {name} OWNER {owner}")
        try:
            with psycopg.connect(_server_url(name), autocommit=True) as db:
                # The grants of docs/operations.md, "Database roles".
                db.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
                db.execute(f"ALTER SCHEMA public OWNER TO {owner}")
                db.execute(f"GRANT USAGE ON SCHEMA public TO {app}")
                db.execute(
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}"
                )
                db.execute(
                    f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
                    f"GRANT USAGE, SELECT ON SEQUENCES TO {app}"
                )
            yield {
                "owner": _server_url(name, owner),
                "app": _server_url(name, app),
                "superuser": _server_url(name),
            }
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"DROP ROLE IF EXISTS {app}")
            admin.execute(f"DROP ROLE IF EXISTS {owner}")


@pytest.fixture(scope="module")
def production_env(
    tmp_path_factory: pytest.TempPathFactory, production_database: dict[str, str]
) -> dict[str, str]:
    """Production settings on the application role, the database migrated by the owner and
    the static files collected, as at deploy."""
    tmp = tmp_path_factory.mktemp("production")
    owner_env = _env(tmp, DATABASE_URL=production_database["owner"])
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v", "0"]):
        manage(*command, env=owner_env, timeout=300, check=True)
    return _env(tmp, DATABASE_URL=production_database["app"])


@pytest.fixture(scope="module")
def production_server(production_env: dict[str, str]) -> Iterator[int]:
    """gunicorn with production settings (no demo) as the application role."""
    port = _free_port()
    process = _gunicorn(production_env, port)
    try:
        assert _wait_until_serving(process, port), _stop(process)
        yield port
    finally:
        _stop(process)


def _refused_start(env: dict[str, str]) -> str:
    """Start gunicorn with ``env``; it must give up without answering. Its output."""
    port = _free_port()
    process = _gunicorn(env, port)
    try:
        serving = _wait_until_serving(process, port, seconds=30)
        status = _get(port, "/logg-inn/") if serving else None
        process.wait(timeout=60)
    finally:
        output = _stop(process)
    assert status is None, f"gunicorn answered with {status}"
    assert process.returncode != 0
    return output


@pytest.mark.postgres
def test_gunicorn_as_the_owner_of_the_audit_table_refuses_to_start(
    production_env: dict[str, str], production_database: dict[str, str]
) -> None:
    output = _refused_start({**production_env, "DATABASE_URL": production_database["owner"]})
    assert "owns the audit table audit_auditevent" in output
    assert "docs/operations.md" in output


@pytest.mark.postgres
def test_gunicorn_as_a_superuser_refuses_to_start(
    production_env: dict[str, str], production_database: dict[str, str]
) -> None:
    output = _refused_start({**production_env, "DATABASE_URL": production_database["superuser"]})
    assert "is a superuser" in output


@pytest.mark.postgres
def test_the_worker_as_the_owner_of_the_audit_table_refuses_to_start(
    production_env: dict[str, str], production_database: dict[str, str]
) -> None:
    env = {**production_env, "DATABASE_URL": production_database["owner"]}
    result = manage("worker", "--once", env=env, timeout=120)
    assert result.returncode != 0
    assert "owns the audit table audit_auditevent" in result.stderr


def test_gunicorn_with_production_and_debug_refuses_to_serve(tmp_path: Path) -> None:
    output = _refused_start(_env(tmp_path, NNRR_DEBUG="1"))
    assert "NNRR_DEBUG must not be set when NNRR_PRODUCTION=1" in output


@pytest.mark.postgres
def test_production_server_does_not_mount_the_test_idp(production_server: int) -> None:
    assert _get(production_server, "/logg-inn/") == 200
    assert _get(production_server, "/testidp/") == 404


@pytest.mark.postgres
def test_production_server_does_not_mount_the_demo_outbox(production_server: int) -> None:
    assert _get(production_server, "/demo/meldinger/") == 404
