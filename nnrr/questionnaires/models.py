"""Responses: one filled (or being filled) form of a course, staff- or patient-completed."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Substr
from django.utils.translation import gettext_lazy as _

from nnrr.lib.scopes import ScopedManager


class FormKind(models.TextChoices):
    """The four NNRR forms (``FormTypeId``)."""

    CLINICIAN = "1b", _("Behandlerskjema")
    PRE_TREATMENT = "1a", _("Pasientskjema før behandling")
    FOLLOW_UP_6 = "2", _("Pasientskjema 6 måneder etter behandling")
    FOLLOW_UP_12 = "3", _("Pasientskjema 12 måneder etter behandling")


PATIENT_FORM_KINDS = (FormKind.PRE_TREATMENT, FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12)


class FormStatus(models.IntegerChoices):
    """``FormStatus`` codes as the registry's exports know them."""

    KLADD = 1, _("Kladd")
    FERDIGSTILT = 2, _("Ferdigstilt")
    SLETTET = 4, _("Slettet")
    RETURNERT = 5, _("Returnert")


# A form still being filled in: a draft, or a completed Behandlerskjema returned to its owner.
# It can be edited, and a course whose Behandlerskjema is in one of them is unfinished.
UNFINISHED_STATUSES = (FormStatus.KLADD, FormStatus.RETURNERT)


def consent_given(prefix: str = "") -> models.Q:
    """The one definition of "the course has consent": its Pasientskjema før behandling is
    completed with the patient's consent. Consent belongs to the course: a withdrawal deletes
    that form, and a new course asks again.

    ``prefix`` is the path from the queried model to the form (``"responses__"`` from a course,
    as in a ``FilteredRelation``); empty on forms themselves."""
    return models.Q(
        **{
            f"{prefix}kind": FormKind.PRE_TREATMENT,
            f"{prefix}status": FormStatus.FERDIGSTILT,
            f"{prefix}consent": True,
        }
    )


def course_unfinished() -> models.Q:
    """The one definition of an unfinished course, on a course queryset: active, with its
    Behandlerskjema (at most one per course) a draft or returned. The worklists, the front page
    badges and the red dot count these; the triggers of the worklists' marker keep
    ``UnfinishedCourse`` equal to it (tests/worklists/test_unfinished_marker.py checks a table
    of cases on both databases)."""
    return models.Q(
        status="active",
        responses__kind=FormKind.CLINICIAN,
        responses__status__in=UNFINISHED_STATUSES,
    )


class ResponseQuerySet(models.QuerySet["Response"]):
    def giving_consent(self) -> ResponseQuerySet:
        """The completed pre-treatment forms that carry the patient's consent (one per course
        at most)."""
        return self.filter(consent_given())


def consent_exists(course: Any = None) -> models.Exists:
    """``Exists`` of a consent-giving form of ``course`` (an ``OuterRef`` to the course; by
    default the outer query's own ``pk``, for a course queryset):
    ``Course.objects.filter(consent_exists())``."""
    return models.Exists(
        Response.objects.giving_consent().filter(
            models.Q(course=course if course is not None else models.OuterRef("pk"))
        )
    )


class Source(models.TextChoices):
    STAFF = "staff", _("registrert av behandler")
    PAPER = "paper", _("papirskjema punchet av personalet")
    PORTAL = "portal", _("utfylt av pasienten")
    HELSENORGE = "helsenorge", _("utfylt av pasienten på Helsenorge")


class ImmutableFormError(RuntimeError):
    """A completed patient form is never changed; corrections are new linked versions."""


class Response(models.Model):
    """One form of a course (``SkjemaGUID`` is the primary key).

    Answers are keyed by the NNRR item ids of the form definition and keep the definition version
    they were given under; scores are computed on submit and stored beside them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    course = models.ForeignKey(
        "patients.Course", on_delete=models.CASCADE, related_name="responses"
    )
    kind = models.CharField(_("skjema"), max_length=2, choices=FormKind.choices)
    status = models.PositiveSmallIntegerField(
        _("status"), choices=FormStatus.choices, default=FormStatus.KLADD
    )
    definition_version = models.CharField(max_length=10, default="1.0")
    answers = models.JSONField(default=dict, blank=True)
    scores = models.JSONField(default=dict, blank=True)
    consent = models.BooleanField(null=True, blank=True)
    # The wording of each licensed instrument the form was answered under:
    # {"odi": {"id": …, "version": …, "licensed": bool}, …} (questionnaires/wording.py).
    wording = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    form_date = models.DateField(_("skjemadato"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_update = models.DateTimeField(_("sist endret"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Optimistic locking: every update checks the version it read and bumps it.
    version = models.PositiveIntegerField(default=1)

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager.from_queryset(ResponseQuerySet)()
    unit_path: ClassVar[str] = "course__unit"

    class Meta:
        ordering = ["course", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["course"],
                condition=models.Q(kind="1b"),
                name="response_one_clinician_form_per_course",
            ),
            models.UniqueConstraint(
                fields=["course", "kind"],
                condition=models.Q(status=2),
                name="response_one_completed_per_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "status"], name="response_kind_status"),
            # The worklists, the front page counts and the red dot on every page join courses to
            # their Behandlerskjema by status (Kladd, Returnert): answered from the index alone,
            # without reading the form rows (answers and all) of every course the unit ever had.
            # A partial index on the status list itself would do on PostgreSQL, but SQLite cannot
            # match "status IN (?, ?)" with bound parameters to an index condition.
            models.Index(
                fields=["status", "course"],
                condition=models.Q(kind="1b"),
                name="response_1b_status_course",
            ),
            # The reports count courses by the Besøksdato of their completed Behandlerskjema,
            # which lives in the answers: this index on that date (as ISO text) lets a report of
            # a few years read only those years' forms, however long the registry's history.
            # The FHIR API lists a unit's completed forms in the order they were completed, a page
            # at a time from a (completed_at, id) cursor: walking this index in order finds the
            # next page's rows without sorting every completed form of the registry.
            models.Index(
                fields=["completed_at", "id"],
                condition=models.Q(status=FormStatus.FERDIGSTILT),
                name="response_completed_order",
            ),
            models.Index(
                Substr(KeyTextTransform("S1b_DateOfCompletion", "answers"), 1, 10),
                "course",
                condition=models.Q(kind="1b", status=FormStatus.FERDIGSTILT),
                name="response_visit_date",
            ),
        ]
        verbose_name = _("skjema")
        verbose_name_plural = _("skjema")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A guard, not a domain rule: no code path may change a completed patient form. The
        # database refuses it too (see the migration adding the immutability triggers).
        if (
            not self._state.adding
            and self.kind in PATIENT_FORM_KINDS
            and Response._base_manager.filter(pk=self.pk, status=FormStatus.FERDIGSTILT).exists()
        ):
            raise ImmutableFormError("a completed patient form cannot be changed")
        super().save(*args, **kwargs)

    @property
    def is_patient_form(self) -> bool:
        return self.kind in PATIENT_FORM_KINDS

    @property
    def is_editable(self) -> bool:
        return self.status in UNFINISHED_STATUSES


class FormReturn(models.Model):
    """One return of a completed Behandlerskjema to draft, with the reason the Lokal
    registeransvarlig gave. The reason is kept here, with the form it explains (shown on the
    returned form and in the worklists); the audit event only says that a reason was given."""

    id = models.BigAutoField(primary_key=True)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="returns")
    reason = models.TextField(_("begrunnelse"))
    returned_at = models.DateTimeField()
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["FormReturn"]()
    unit_path: ClassVar[str] = "response__course__unit"

    class Meta:
        ordering = ["-returned_at", "-id"]
        verbose_name = _("retur av skjema")
        verbose_name_plural = _("returer av skjema")

    def __str__(self) -> str:
        return f"{self.response_id} {self.returned_at:%Y-%m-%d}"
