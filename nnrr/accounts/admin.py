"""Operator administration of units, users, identities and memberships."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import timezone

from nnrr.accounts.administrators import NoAdministratorLeft, keeping_an_administrator
from nnrr.accounts.models import Identity, Membership, Unit, User
from nnrr.lib.dates import today_oslo


class KeepsAnAdministrator(admin.ModelAdmin):
    """Saving or deleting here (a unit, a person, their memberships) is undone, with the
    reason shown, when it would leave a day without a working Registeradministrator."""

    def _kept(self, request: HttpRequest, view: Any, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        try:
            with keeping_an_administrator(today_oslo(timezone.now())):
                return view(request, *args, **kwargs)
        except NoAdministratorLeft as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._kept(request, super().changeform_view, *args, **kwargs)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._kept(request, super().delete_view, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._kept(request, super().changelist_view, *args, **kwargs)


@admin.register(Unit)
class UnitAdmin(KeepsAnAdministrator):
    list_display = ("resh_id", "short_name", "name", "organisation_number", "is_active")
    search_fields = ("short_name", "name", "resh_id")


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class NnrrUserAdmin(KeepsAnAdministrator, UserAdmin):
    list_display = ("full_name", "username", "email", "is_active")
    search_fields = ("full_name", "username", "email")
    fieldsets = (
        (None, {"fields": ("username", "full_name", "email", "is_active")}),
        ("Administrasjon", {"fields": ("is_staff", "is_superuser")}),
    )
    inlines = [IdentityInline, MembershipInline]
