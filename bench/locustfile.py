"""Locust users for ``bench/load.py``: clinic staff and patients (nnrr.demo.traffic flows).

Not run on its own: ``bench/load.py`` prepares the database, writes the plan (sessions, patients,
one-time codes) to the file named by ``NNRR_LOAD_PLAN`` and reads the receipts back from
``NNRR_LOAD_RECEIPTS`` when locust stops.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import sys
import threading
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nnrr.demo import traffic

PLAN = traffic.Plan.from_json(json.loads(Path(os.environ["NNRR_LOAD_PLAN"]).read_text()))
RECEIPTS = traffic.Receipts()
_lock = threading.Lock()
_staff = itertools.cycle(PLAN.staff)
_patients = iter(PLAN.patients)


class LocustDriver:
    """A :class:`nnrr.demo.traffic.Driver` over locust's HTTP client (its statistics by name)."""

    def __init__(self, user: HttpUser) -> None:
        self.client = user.client
        self.client.headers["Connection"] = "close"  # as RequestsDriver: no keep-alive races

    def _csrf(self) -> str:
        token = self.client.cookies.get(traffic.CSRF_COOKIE)
        if not token:
            token = secrets.token_hex(16)
            self.client.cookies.set(traffic.CSRF_COOKIE, token, domain="127.0.0.1", path="/")
        return str(token)

    def get(self, path: str, name: str) -> tuple[int, str]:
        response = self.client.get(path, name=name, allow_redirects=False)
        return response.status_code, response.headers.get("Location", "")

    def post(self, path: str, data: dict[str, str], name: str) -> tuple[int, str]:
        token = self._csrf()
        response = self.client.post(
            path,
            data={**data, "csrfmiddlewaretoken": token},
            headers={"X-CSRFToken": token},
            name=name,
            allow_redirects=False,
        )
        return response.status_code, response.headers.get("Location", "")


class ClinicUser(HttpUser):
    """A Pasientansvarlig working through the morning's patients, a few seconds per page."""

    fixed_count = int(os.environ.get("NNRR_LOAD_STAFF", "50"))
    wait_time = between(1, 4)

    def on_start(self) -> None:
        with _lock:
            self.plan = next(_staff)
        self.driver = LocustDriver(self)
        self.client.cookies.set("sessionid", self.plan.session_key, domain="127.0.0.1", path="/")
        self.index = random.randrange(1000)

    @task
    def round(self) -> None:
        # Straight into the shared receipts: a round cut off when the run ends keeps what it got.
        traffic.clinic_round(self.driver, self.plan, self.index, RECEIPTS)
        self.index += 1


class PatientUser(HttpUser):
    """A patient with a one-time code: enters, consents, answers, sends in, once."""

    fixed_count = int(os.environ.get("NNRR_LOAD_PATIENTS", "200"))
    wait_time = between(1, 3)

    def on_start(self) -> None:
        with _lock:
            self.plan = next(_patients, None)
        self.driver = LocustDriver(self)

    @task
    def visit(self) -> None:
        if self.plan is None:
            raise StopUser
        # Patients arrive spread over the run, not all in the first second.
        gevent.sleep(random.uniform(0, float(os.environ.get("NNRR_LOAD_SPREAD", "120"))))
        plan, self.plan = self.plan, None
        traffic.patient_visit(self.driver, plan, RECEIPTS)
        raise StopUser


@events.test_stop.add_listener
def _write_receipts(**_kwargs: Any) -> None:
    with _lock:
        Path(os.environ["NNRR_LOAD_RECEIPTS"]).write_text(
            json.dumps(
                {
                    "bookings": RECEIPTS.bookings,
                    "submissions": RECEIPTS.submissions,
                    "errors": RECEIPTS.errors,
                }
            )
        )
