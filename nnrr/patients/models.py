"""Patients (one record per unit), courses (forløp) and the consent log."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nnrr.lib.national_id import formatted as formatted_national_id
from nnrr.lib.scopes import ScopedManager


class Patient(models.Model):
    """A unit's record of a person, identified by a Norwegian national id (``PasientGUID`` is the
    primary key).

    Each unit keeps its own record: a person treated at two units has two rows with the same
    national id, and nothing one unit enters (name, contact data, courses, withdrawal) is seen or
    changed by the other (docs/decisions/0013-patient-record-per-unit.md).
    """

    class IdKind(models.TextChoices):
        FNR = "fnr", _("fødselsnummer")
        DNR = "dnr", _("D-nummer")
        HNR = "hnr", _("H-nummer")
        SYNTHETIC = "synthetic", _("syntetisk testnummer")

    class Sex(models.TextChoices):
        MALE = "M", _("mann")
        FEMALE = "F", _("kvinne")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("enhet"), on_delete=models.PROTECT, related_name="patients"
    )
    national_id = models.CharField(_("fødselsnummer"), max_length=11, db_index=True)
    id_kind = models.CharField(max_length=10, choices=IdKind.choices)
    name = models.CharField(_("navn"), max_length=200)
    birth_date = models.DateField(_("fødselsdato"))
    sex = models.CharField(_("kjønn"), max_length=1, choices=Sex.choices)
    email = models.EmailField(_("e-post"), blank=True)
    mobile = models.CharField(_("mobil"), max_length=20, blank=True)
    # The last withdrawal of consent recorded for this record. Consent belongs to the course: a
    # new course asks again, so this only tells staff what happened.
    consent_withdrawn_at = models.DateTimeField(_("samtykke trukket"), null=True, blank=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["Patient"]()
    unit_path: ClassVar[str] = "unit"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "national_id"], name="patient_one_record_per_unit"
            )
        ]
        verbose_name = _("pasient")
        verbose_name_plural = _("pasienter")

    def __str__(self) -> str:
        return self.name

    @property
    def national_id_formatted(self) -> str:
        return formatted_national_id(self.national_id)


class Course(models.Model):
    """A forløp: one referral of one patient to one unit, with its Behandlerskjema and patient
    forms."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("aktiv")
        DELETED = "deleted", _("slettet")
        PURGED = "purged", _("slettet (mangler samtykke)")
        WITHDRAWN = "withdrawn", _("slettet (samtykke trukket)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="courses")
    referral_date = models.DateField(_("Henvisningsdato"))
    planned_consultation_date = models.DateField(_("Planlagt dato for konsultasjon"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("eier"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="owned_courses",
    )
    replaces = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["Course"]()
    unit_path: ClassVar[str] = "unit"

    class Meta:
        ordering = ["-planned_consultation_date"]
        indexes = [
            models.Index(
                fields=["unit", "status", "planned_consultation_date"], name="course_unit_status"
            ),
            models.Index(fields=["owner", "status"], name="course_owner_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(planned_consultation_date__gte=models.F("referral_date")),
                name="course_planned_not_before_referral",
            )
        ]
        verbose_name = _("forløp")
        verbose_name_plural = _("forløp")

    def __str__(self) -> str:
        return f"Forløp {self.planned_consultation_date:%d.%m.%Y}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class ConsentLogEntry(models.Model):
    """The minimal entry kept for everyone the registry touched without (lasting) consent.

    The registry must keep this overview by law ("Pasienter uten informasjon om samtykke"): it
    holds identity, unit, dates and reason, and no clinical content.
    """

    class Reason(models.TextChoices):
        NO_CONSENT = "no_consent", _("Slettet: mangler samtykke etter 30 dager")
        WITHDRAWN = "withdrawn", _("Samtykke trukket")
        DELETED = "deleted", _("Skjema slettet av enheten")

    national_id = models.CharField(_("fødselsnummer"), max_length=11, db_index=True)
    name = models.CharField(_("navn"), max_length=200)
    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    course_id = models.UUIDField(null=True, blank=True)
    referral_date = models.DateField(null=True, blank=True)
    planned_consultation_date = models.DateField(null=True, blank=True)
    reason = models.CharField(_("årsak"), max_length=12, choices=Reason.choices)
    note = models.CharField(_("merknad"), max_length=300, blank=True)
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["ConsentLogEntry"]()
    unit_path: ClassVar[str] = "unit"

    class Meta:
        ordering = ["-recorded_at"]
        indexes = [models.Index(fields=["unit", "-recorded_at"], name="consentlog_unit")]
        verbose_name = _("pasient uten samtykke")
        verbose_name_plural = _("pasienter uten informasjon om samtykke")

    def __str__(self) -> str:
        return f"{self.national_id[:6]}… {self.get_reason_display()}"
