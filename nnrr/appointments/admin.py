"""Operator settings of the appointment feeds: a unit's filter and its machine clients."""

from django.contrib import admin
from django.http import HttpRequest

from nnrr.appointments.models import FeedClient, FeedSettings


@admin.register(FeedSettings)
class FeedSettingsAdmin(admin.ModelAdmin):
    list_display = ("unit", "appointment_types", "resources")


@admin.register(FeedClient)
class FeedClientAdmin(admin.ModelAdmin):
    """Clients are made with ``nnrr appointment_client`` (the token is shown once); here they can
    only be deactivated."""

    list_display = ("client_id", "unit", "is_active", "created_at")
    fields = ("client_id", "unit", "is_active", "created_at")
    readonly_fields = ("client_id", "unit", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
