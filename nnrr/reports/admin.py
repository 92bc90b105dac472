from django.contrib import admin

from nnrr.reports.models import CoverageEntry


@admin.register(CoverageEntry)
class CoverageEntryAdmin(admin.ModelAdmin):
    list_display = ("unit", "year", "half", "eligible", "entered_by_name", "entered_at")
    list_filter = ("year", "half")
    readonly_fields = ("entered_at",)
