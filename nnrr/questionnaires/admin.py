"""Forms are read-only in the admin: clinical content changes only through the application's
services, which audit them and respect the immutability of completed patient forms."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from nnrr.questionnaires.models import Response


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "definition_version", "last_update")
    list_filter = ("kind", "status")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
