"""The suite runs in test mode, and test mode is what lets synthetic national ids through."""

import datetime as dt
import random
from pathlib import Path

import pytest
from django.test import override_settings

from nnrr.demo.people import synthetic_id
from nnrr.lib.national_id import NationalIdError, parse_national_id


def test_synthetic_national_ids_are_refused_outside_demo_and_test_mode() -> None:
    number = synthetic_id(random.Random(1), dt.date(1975, 5, 17), "M")
    assert parse_national_id(number).kind == "synthetic"  # the suite runs in test mode
    with override_settings(DEMO=False, TESTING=False), pytest.raises(NationalIdError):
        parse_national_id(number)


def _portal_base_url(env: dict[str, str], tmp: Path) -> str:
    from tests.processes import manage

    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.PORTAL_BASE_URL)",
        env={"NNRR_DATA_DIR": str(tmp), **env},
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_the_portal_address_follows_the_address_served(tmp_path: Path) -> None:
    """bin/serve (make demo PORT=8102) exports NNRR_SERVE_ADDRESS: links use that host and port,
    unless NNRR_PORTAL_BASE_URL names the portal's address, as production does."""
    served = {"NNRR_DEMO": "1", "NNRR_SERVE_ADDRESS": "127.0.0.1:8102"}
    assert _portal_base_url(served, tmp_path) == "http://127.0.0.1:8102"
    named = {**served, "NNRR_PORTAL_BASE_URL": "https://nnrr.helseregister.no/"}
    assert _portal_base_url(named, tmp_path) == "https://nnrr.helseregister.no"


def test_bin_serve_exports_the_address_it_binds() -> None:
    script = (Path(__file__).resolve().parents[1] / "bin" / "serve").read_text()
    assert 'export NNRR_SERVE_ADDRESS="$address"' in script
    assert script.index("export NNRR_SERVE_ADDRESS") < script.index("manage.py worker")
