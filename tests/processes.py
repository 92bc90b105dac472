"""``manage.py`` in a fresh Python process, started as a deployment starts it: its own
environment (only ``PATH`` is inherited), the settings read at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def manage(
    *args: str,
    env: dict[str, str],
    timeout: int = 120,
    check: bool = False,
    umask: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py *args`` with ``env`` (on top of ``PATH`` and the settings module);
    ``umask`` sets the process's umask first (files must not rely on a strict one)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "nnrr.settings",
            **env,
        },
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        check=check,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )
