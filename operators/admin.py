"""Read-only admin views of holds and their log: both change only through the services."""

from django.contrib import admin

from operators.models import Assignment, AssignmentLog


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["order", "operator", "assigned_by", "assigned_at", "last_activity_at"]
    list_select_related = ["order", "operator", "assigned_by"]
    list_filter = ["operator"]
    search_fields = ["=order__number"]
    show_full_result_count = False


@admin.register(AssignmentLog)
class AssignmentLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "order", "action", "operator", "actor", "reason"]
    list_select_related = ["order", "operator", "actor"]
    list_filter = ["action"]
    search_fields = ["=order__number"]
    show_full_result_count = False
    ordering = ["-at", "-id"]
