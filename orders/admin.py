"""The order domain's read-only admin pages; the console's order screens are console/admin.py."""

from django.contrib import admin

from orderops.admin_search import BoundedSearchAdmin
from orders.models import OrderComment


@admin.register(OrderComment)
class OrderCommentAdmin(BoundedSearchAdmin):
    list_display = ["order", "author", "created_at", "body"]
    list_select_related = ["order", "author"]
    search_fields = ["=order__number", "body"]
    raw_id_fields = ["order"]
    readonly_fields = ["author", "created_at"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # comments are added on the order's page, where the box is

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a comment, once written, stays as it was written

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser
