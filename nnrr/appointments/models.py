"""Appointments received from the hospitals' booking systems, and every message that carried them.

An :class:`Appointment` is the booking system's appointment as NNRR last understood it, keyed by
(unit, source system, appointment id); it points at the course it created. An
:class:`InboundMessage` is one message as received (HL7 v2 SIU over MLLP, or FHIR), stored before
it is acknowledged and then processed once (``docs/decisions/0022-appointment-feeds.md``).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nnrr.lib.scopes import ScopedManager


class EventKind(models.TextChoices):
    BOOK = "book", _("Ny time")
    MOVE = "move", _("Flyttet time")
    CANCEL = "cancel", _("Avbestilt time")
    NO_SHOW = "no_show", _("Ikke møtt")


# The default profile's fields a unit may read from elsewhere (FeedSettings.field_map).
MAPPABLE_FIELDS = ("national_id", "appointment_id", "start", "referral_date", "clinician")


class FeedSettings(models.Model):
    """How a unit's feed is read. Without a row (or with empty lists) every appointment in the
    unit's feed counts; a unit may restrict it to some appointment types or resources."""

    unit = models.OneToOneField(
        "accounts.Unit", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    appointment_types = models.JSONField(
        _("timetyper"),
        default=list,
        blank=True,
        help_text=_("Koder fra SCH-7 eller SCH-8 (FHIR: appointmentType). Tom: alle timer."),
    )
    resources = models.JSONField(
        _("ressurser"),
        default=list,
        blank=True,
        help_text=_("Ressurs-id fra AIG-3 eller AIP-3 (FHIR: deltaker). Tom: alle ressurser."),
    )

    # Another message profile: a field of the default profile read from elsewhere, as
    # python-hl7 accessors ("SEG.Fn[.Rn[.Cn]]"), e.g. {"referral_date": "RF1.F9"}. Keys:
    # MAPPABLE_FIELDS.
    field_map = models.JSONField(
        _("feltoppsett"),
        default=dict,
        blank=True,
        help_text=_(
            "Felt som leses fra et annet sted enn standardprofilen, f.eks. "
            '{"referral_date": "RF1.F9", "appointment_id": "SCH.F1"}. Tom: standardprofilen.'
        ),
    )

    class Meta:
        verbose_name = _("innstilling for timebokstrøm")
        verbose_name_plural = _("innstillinger for timebokstrøm")

    def __str__(self) -> str:
        return str(self.unit_id)


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("Booket")
        CANCELLED = "cancelled", _("Avbestilt")
        NO_SHOW = "noshow", _("Ikke møtt")

    unit = models.ForeignKey("accounts.Unit", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("kildesystem"), max_length=100)
    appointment_id = models.CharField(_("time-id"), max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.BOOKED)
    start_date = models.DateField(null=True, blank=True)
    # From the message, or given by staff in "Mottatte avtaler" when the message had none.
    referral_date = models.DateField(null=True, blank=True)
    course = models.ForeignKey(
        "patients.Course", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The newest message applied: an older one arriving later is recorded and ignored.
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_id = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["Appointment"]()
    unit_path: ClassVar[str] = "unit"

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "source", "appointment_id"], name="appointment_one_per_source_id"
            )
        ]
        verbose_name = _("avtale")
        verbose_name_plural = _("avtaler")

    def __str__(self) -> str:
        return f"{self.source}:{self.appointment_id}"


class MessageState(models.TextChoices):
    RECEIVED = "received", _("Mottatt, venter på behandling")
    APPLIED = "applied", _("Behandlet")
    IGNORED = "ignored", _("Ingen endring")
    WAITING = "waiting", _("Mangler henvisningsdato")
    FAILED = "failed", _("Kunne ikke behandles")
    ATTENTION = "attention", _("Til vurdering")
    HANDLED = "handled", _("Håndtert av enheten")


# A message in one of these states waits for the Lokal registeransvarlig (front-page notice).
WAITING_STATES = (MessageState.WAITING, MessageState.FAILED, MessageState.ATTENTION)


class InboundMessage(models.Model):
    class Transport(models.TextChoices):
        MLLP = "mllp", "HL7 v2 (MLLP)"
        FHIR = "fhir", "FHIR"

    received_at = models.DateTimeField(_("mottatt"))
    transport = models.CharField(max_length=4, choices=Transport.choices)
    source = models.CharField(_("kilde"), max_length=100, blank=True)
    # The unit as named in the message (MSH-4), and the unit it names when that is known.
    unit_code = models.CharField(max_length=60, blank=True)
    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    message_id = models.CharField(_("meldings-id"), max_length=100, blank=True)
    message_type = models.CharField(max_length=20, blank=True)
    message_time = models.DateTimeField(null=True, blank=True)
    raw = models.TextField()
    kind = models.CharField(max_length=8, choices=EventKind.choices, blank=True)
    appointment_id = models.CharField(_("time-id"), max_length=100, blank=True)
    appointment_date = models.DateField(null=True, blank=True)
    # ddmmåå *****: enough for staff to recognise the patient, never the whole number on a list.
    patient_masked = models.CharField(max_length=12, blank=True)
    state = models.CharField(
        max_length=10, choices=MessageState.choices, default=MessageState.RECEIVED
    )
    outcome = models.CharField(_("resultat"), max_length=300, blank=True)
    ack_code = models.CharField(max_length=2, blank=True)
    referral_date_given = models.DateField(null=True, blank=True)
    course = models.ForeignKey(
        "patients.Course", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    processed_by = models.CharField(max_length=64, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # Patient data: queried only inside a unit scope (nnrr.lib.scopes).
    objects = ScopedManager["InboundMessage"]()
    unit_path: ClassVar[str] = "unit"

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["state", "id"], name="inbound_state"),
            models.Index(fields=["unit", "-received_at"], name="inbound_unit_received"),
        ]
        verbose_name = _("mottatt melding")
        verbose_name_plural = _("mottatte avtaler")

    def __str__(self) -> str:
        return f"{self.message_type} {self.message_id}"

    @property
    def is_waiting(self) -> bool:
        return self.state in WAITING_STATES
