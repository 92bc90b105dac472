"""Operator settings of the appointment feeds: a unit's filter. Its machine clients are the FHIR
API's (nnrr/api/admin.py)."""

from django.contrib import admin

from nnrr.appointments.models import FeedSettings


@admin.register(FeedSettings)
class FeedSettingsAdmin(admin.ModelAdmin):
    list_display = ("unit", "appointment_types", "resources")
