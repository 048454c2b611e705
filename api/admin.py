"""API keys in the admin: superusers see them (never a secret: only the hash is stored) and revoke them."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import ngettext

from api.models import ApiKey
from orderops.admin_search import BoundedSearchAdmin


@admin.action(description="Revoke the selected API keys")
def revoke_keys(modeladmin, request, queryset) -> None:
    revoked = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
    modeladmin.message_user(
        request, ngettext("%d API key revoked.", "%d API keys revoked.", revoked) % revoked, messages.SUCCESS
    )


@admin.register(ApiKey)
class ApiKeyAdmin(BoundedSearchAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    fields = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = [revoke_keys]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        # Needed for the revoke action; every field is read-only.
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return False  # keys are made by `manage.py api_key_create`, which shows the secret once

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
