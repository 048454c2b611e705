"""API keys in the admin: superusers see them (never a secret: only the hash is stored) and revoke them."""

from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from api.models import ApiKey
from operators.selectors import users_with_console_access
from orderops.admin_search import BoundedSearchAdmin


class SuspendedFilter(admin.SimpleListFilter):
    """Keys whose user could no longer log in to the console (inactive, no longer staff, or in no role): the
    API refuses them while that lasts."""

    title = _("user may log in")
    parameter_name = "user_may_log_in"

    def lookups(self, request, model_admin):
        return [("yes", _("Yes: the key acts")), ("no", _("No: the key is suspended"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(user_may_log_in=True)
        if self.value() == "no":
            return queryset.filter(user_may_log_in=False)
        return queryset


@admin.action(description="Revoke the selected API keys")
def revoke_keys(modeladmin, request, queryset) -> None:
    revoked = queryset.filter(revoked_at=None).update(revoked_at=timezone.now())
    modeladmin.message_user(
        request, ngettext("%d API key revoked.", "%d API keys revoked.", revoked) % revoked, messages.SUCCESS
    )


@admin.register(ApiKey)
class ApiKeyAdmin(BoundedSearchAdmin):
    list_display = (
        "prefix",
        "name",
        "user",
        "user_may_log_in",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = (SuspendedFilter, "revoked_at")
    search_fields = ("prefix", "name", "user__username")
    list_select_related = ("user",)
    fields = ("prefix", "name", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = [revoke_keys]

    def get_queryset(self, request):
        may_log_in = users_with_console_access().filter(pk=OuterRef("user_id"))
        return super().get_queryset(request).annotate(user_may_log_in=Exists(may_log_in))

    @admin.display(description=_("user may log in"), boolean=True, ordering="user_may_log_in")
    def user_may_log_in(self, api_key: ApiKey) -> bool:
        """False: the user is inactive, no longer staff or in no role, and the API refuses the key."""
        return api_key.user_may_log_in  # type: ignore[attr-defined]

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
