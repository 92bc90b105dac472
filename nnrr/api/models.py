"""Machine clients of the FHIR API: a hospital's record system, bound to one unit."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

# One scope per resource type, as the token's ``scope`` claim names them (SMART's system scopes).
SCOPES = {
    "Patient": "system/Patient.read",
    "QuestionnaireResponse": "system/QuestionnaireResponse.read",
    "DocumentReference": "system/DocumentReference.read",
}
WRITE_RESPONSES = "system/QuestionnaireResponse.write"
# A booking system's appointments (``PUT /fhir/Appointment/{id}``, the Subscription endpoint).
WRITE_APPOINTMENTS = "system/Appointment.write"
ALL_SCOPES = (*SCOPES.values(), WRITE_RESPONSES, WRITE_APPOINTMENTS)


class MachineClient(models.Model):
    """One OAuth 2.0 client (its ``client_id`` at the token issuer) and the unit whose data it
    may read or write: a record system or a booking system, one client per unit. The scopes it
    may use are granted here; a token's own scopes count only as far as they are granted."""

    client_id = models.CharField(_("klient-id"), max_length=200, unique=True)
    name = models.CharField(_("navn"), max_length=200)
    unit = models.ForeignKey(
        "accounts.Unit", verbose_name=_("enhet"), on_delete=models.PROTECT, related_name="+"
    )
    scopes = models.JSONField(_("tilganger"), default=list)
    is_active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("maskinklient (FHIR)")
        verbose_name_plural = _("maskinklienter (FHIR)")

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"
