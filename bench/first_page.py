"""Time to the first page: a fresh clone, `make venv node`, then `make demo` until the login page.

    .venv/bin/python bench/first_page.py [--port 8097] [--keep]

Clones this checkout's committed HEAD into a temporary folder (what a newcomer's `git clone`
gives), then times two things separately, as a newcomer lives them:

1. **install**: `make venv node` with pip's cache disabled (PIP_NO_CACHE_DIR=1), so every
   package comes from the index as on a new machine;
2. **start**: `make demo PORT=…` from that installed state until `GET /logg-inn/` answers 200
   (migrate, the demo data, the seeded years for the reports, the web server and the workers).

Prints both figures and the load average before and after, since a busy machine stretches both.
Target (exit status 1 when missed): the start under 120 s. The install depends on the network
and has no target. The demo server is stopped and the clone removed at the end (--keep keeps it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_TARGET_S = 120.0


def login_page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
            return bool(response.status == 200)
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="nnrr-first-page-"))
    clone = folder / "nnrr"
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1"}
    env.pop("NNRR_DEMO", None)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)

    started = time.monotonic()
    subprocess.run(
        ["make", "--no-print-directory", "venv", "node"],
        cwd=clone,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    install_s = time.monotonic() - started
    print(f"install (make venv node, no pip cache): {install_s:.0f} s")

    url = f"http://127.0.0.1:{args.port}/logg-inn/"
    started = time.monotonic()
    demo = subprocess.Popen(
        ["make", "--no-print-directory", "demo", f"PORT={args.port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    start_s = None
    try:
        while time.monotonic() - started < 900 and demo.poll() is None:
            if login_page_answers(url):
                start_s = time.monotonic() - started
                break
            time.sleep(0.5)
    finally:
        os.killpg(demo.pid, signal.SIGTERM)
        demo.wait(timeout=60)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if start_s is None:
        print("start: the login page never answered")
        return 1
    verdict = "met" if start_s < START_TARGET_S else "MISSED"
    print(f"start (make demo to the login page): {start_s:.0f} s (target < 120 s: {verdict})")
    return 0 if start_s < START_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
