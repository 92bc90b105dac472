"""The machine clients of the FHIR API (record systems and booking systems, one per unit): here
the registry adds a client and deactivates one. The client id and the unit of a client are not
changed afterwards; a system moving to another unit gets a new client."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from nnrr.api.models import MachineClient


@admin.register(MachineClient)
class MachineClientAdmin(admin.ModelAdmin):
    list_display = ("client_id", "name", "unit", "is_active", "created_at")
    list_filter = ("is_active",)
    fields = ("client_id", "name", "unit", "scopes", "is_active", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("created_at",)
        return ("client_id", "unit", "created_at")
