"""The suite runs in test mode, and test mode is what lets synthetic national ids through."""

import datetime as dt
import random

import pytest
from django.test import override_settings

from nnrr.demo.people import synthetic_id
from nnrr.lib.national_id import NationalIdError, parse_national_id


def test_synthetic_national_ids_are_refused_outside_demo_and_test_mode() -> None:
    number = synthetic_id(random.Random(1), dt.date(1975, 5, 17), "M")
    assert parse_national_id(number).kind == "synthetic"  # the suite runs in test mode
    with override_settings(DEMO=False, TESTING=False), pytest.raises(NationalIdError):
        parse_national_id(number)
