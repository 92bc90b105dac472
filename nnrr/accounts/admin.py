"""Operator administration of units, users, identities and memberships."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from nnrr.accounts.models import Identity, Membership, Unit, User


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("resh_id", "short_name", "name", "organisation_number", "is_active")
    search_fields = ("short_name", "name", "resh_id")


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class NnrrUserAdmin(UserAdmin):
    list_display = ("full_name", "username", "email", "is_active")
    search_fields = ("full_name", "username", "email")
    fieldsets = (
        (None, {"fields": ("username", "full_name", "email", "is_active")}),
        ("Administrasjon", {"fields": ("is_staff", "is_superuser")}),
    )
    inlines = [IdentityInline, MembershipInline]
