"""A maintained marker of the unfinished Behandlerskjema, for constant-time worklist counts."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models

from nnrr.lib.scopes import ScopedManager


class UnfinishedCourse(models.Model):
    """One row per active course whose Behandlerskjema is Kladd or Returnert: exactly the rows of
    ``nnrr.access.unfinished_courses``, kept by database triggers on courses and forms (so every
    write path, ORM ``update()`` and bulk loads included, keeps it right; migration 0001).

    The front page badges, the red dot and the worklist counts read this narrow table through
    its covering index instead of joining a unit's courses to their forms.
    """

    course = models.OneToOneField(
        "patients.Course",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="+",
    )
    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        related_name="+",
    )
    planned_consultation_date = models.DateField()
    created_at = models.DateTimeField()  # the course's: the worklists' order within a day

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["UnfinishedCourse"]()
    unit_path: ClassVar[str] = "unit"

    class Meta:
        managed = True
        indexes = [
            models.Index(
                fields=["unit", "owner", "planned_consultation_date", "created_at"],
                name="unfinished_unit_owner",
            ),
            models.Index(
                fields=["unit", "planned_consultation_date", "created_at"],
                name="unfinished_unit_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course_id}"


class WaitingOrder(models.Model):
    """One row per open pre-treatment order (Pasientskjema før behandling planned, sent or
    reminded), with its course's unit and dates: the rows of "Pasienter uten informasjon om
    samtykke", kept by database triggers on orders and courses (migration 0002), so the list is
    counted and paged on the unit's open orders, not on every course the unit ever had."""

    order = models.OneToOneField(
        "scheduling.Order",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="+",
    )
    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    planned_consultation_date = models.DateField()  # the course's
    created_at = models.DateTimeField()  # the course's: the list's order within a day

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["WaitingOrder"]()
    unit_path: ClassVar[str] = "unit"

    class Meta:
        managed = True
        indexes = [
            models.Index(
                fields=["unit", "planned_consultation_date", "created_at", "order"],
                name="waiting_unit_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.order_id}"
