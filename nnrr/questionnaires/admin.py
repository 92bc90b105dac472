"""Forms are read-only in the admin: clinical content changes only through the application's
services, which audit them and respect the immutability of completed patient forms."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from nnrr.lib.scopes import unscoped
from nnrr.questionnaires.models import Response


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "definition_version", "last_update")
    list_filter = ("kind", "status")

    # Operators look at every unit's forms here, where the admin is mounted at all: in
    # development and the demo (synthetic people), never in production (0012). Each page is
    # rendered inside the scope (its form's choices query courses).

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _every_unit(super().changelist_view, request, *args, **kwargs)

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _every_unit(super().changeform_view, request, *args, **kwargs)

    def history_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _every_unit(super().history_view, request, *args, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _every_unit(view: Callable[..., HttpResponse], *args: Any, **kwargs: Any) -> HttpResponse:
    with unscoped("the Django admin: development and the demo only, never production"):
        response = view(*args, **kwargs)
        if isinstance(response, TemplateResponse):
            response.render()
        return response
