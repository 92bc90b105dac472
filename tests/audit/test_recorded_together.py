"""Audit events written together at the end of a block (the appointment feed's batch): kept or
lost exactly as they would be one at a time, savepoints included."""

from __future__ import annotations

import pytest
from django.db import transaction

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.audit.services import record_event, recorded_together

pytestmark = pytest.mark.django_db


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def record(action: str) -> None:
    record_event(actor=Actor.system("test"), action=action, detail={"n": action})


def test_events_recorded_together_are_all_written_in_order_when_the_block_ends() -> None:
    with transaction.atomic(), recorded_together():
        for n in range(3):
            record(f"nnrr.test.{n}")

    assert actions() == ["nnrr.test.0", "nnrr.test.1", "nnrr.test.2"]
    assert AuditEvent.objects.get(action="nnrr.test.1").detail == {"n": "nnrr.test.1"}


def test_an_event_of_work_rolled_back_to_a_savepoint_is_dropped_with_it() -> None:
    with transaction.atomic(), recorded_together():
        record("nnrr.test.before")
        try:
            with transaction.atomic():
                record("nnrr.test.undone")
                with transaction.atomic():
                    record("nnrr.test.undone_inner")
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        with transaction.atomic():
            record("nnrr.test.kept_in_savepoint")
        record("nnrr.test.after")

    assert actions() == ["nnrr.test.before", "nnrr.test.kept_in_savepoint", "nnrr.test.after"]


def test_an_exception_out_of_the_block_writes_none_of_its_events() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record("nnrr.test.outside")
        with recorded_together():
            record("nnrr.test.inside")
            raise RuntimeError("stop")

    assert actions() == []


def test_a_nested_block_leaves_its_events_to_the_outer_one() -> None:
    with transaction.atomic(), recorded_together():
        with recorded_together():
            record("nnrr.test.inner")
        record("nnrr.test.outer")

    assert actions() == ["nnrr.test.inner", "nnrr.test.outer"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_block_is_refused() -> None:
    with pytest.raises(RuntimeError), recorded_together():
        record("nnrr.test.x")  # pragma: no cover

    assert actions() == []
