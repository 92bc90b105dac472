"""Audit events are visible to operators in the admin, never editable."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from nnrr.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_name", "role", "unit", "action", "outcome", "object_type")
    list_filter = ("outcome", "role")
    search_fields = ("action", "actor_name", "object_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
