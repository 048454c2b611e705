"""Connected stores in the admin, for superusers: the platform, the webhook address, the last delivery and
sync, the refused signatures, the status map, and the failed deliveries with a replay button."""

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from orderops.admin_search import BoundedSearchAdmin
from stores.forms import StoreForm
from stores.inbox import delivery_replay
from stores.models import Delivery, Store
from stores.outbox import changes_retry
from stores.selectors import store_dead_changes, stores_health

FAILED = Delivery.State.FAILED


class SuperusersOnly:
    """Stores hold secrets and raw deliveries: superusers only, whatever a role's permissions say."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a store is deactivated (its orders and deliveries stay)


def replay_report(request: HttpRequest, model_admin: admin.ModelAdmin, delivery_ids: list[int]) -> None:
    states: dict[str, int] = {}
    errors = []
    for delivery_id in delivery_ids:
        receipt = delivery_replay(delivery_id=delivery_id)
        states[receipt.state] = states.get(receipt.state, 0) + 1
        if receipt.error:
            errors.append(receipt.error)
    applied = sum(count for state, count in states.items() if state != FAILED)
    if applied:
        model_admin.message_user(
            request,
            ngettext("%(count)d delivery replayed.", "%(count)d deliveries replayed.", applied)
            % {"count": applied},
            messages.SUCCESS,
        )
    for error in errors[:10]:
        model_admin.message_user(request, _("Still failing: %(error)s") % {"error": error}, messages.ERROR)
    if not delivery_ids:
        model_admin.message_user(request, _("There is no failed delivery to replay."), messages.INFO)


@admin.register(Store)
class StoreAdmin(SuperusersOnly, BoundedSearchAdmin):
    form = StoreForm
    list_display = [
        "name",
        "slug",
        "platform",
        "active",
        "webhook_address",
        "last_delivery_at",
        "last_sync_at",
        "failed",
    ]
    list_filter = ["platform", "active"]
    search_fields = ["name", "slug"]
    change_form_template = "admin/stores/store/change_form.html"
    readonly_fields = [
        "webhook_address",
        "last_delivery_at",
        "last_sync_at",
        "sync_cursor",
        "refused_signatures",
        "failed",
        "write_back_health",
    ]
    fieldsets = [
        (None, {"fields": ["name", "slug", "platform", "base_url", "active"]}),
        (
            gettext_lazy("Webhooks"),
            {
                "fields": [
                    "webhook_address",
                    "webhook_secret",
                    "last_delivery_at",
                    "refused_signatures",
                    "failed",
                ]
            },
        ),
        (
            gettext_lazy("Polling"),
            {"fields": ["api_key", "api_secret", "access_token", "sync_cursor", "last_sync_at"]},
        ),
        (gettext_lazy("Statuses"), {"fields": ["status_map"]}),
        (
            gettext_lazy("Changes back to the store"),
            {"fields": ["reverse_status_map", "hold_notes", "notify_customer", "write_back_health"]},
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(failed_count=Count("deliveries", filter=Q(deliveries__state=FAILED)))
        )

    @admin.display(description=gettext_lazy("webhook address"))
    def webhook_address(self, store: Store) -> str:
        if store.pk is None:
            return _("shown once the store is saved")
        if store.platform == "magento":
            return _("none: Magento is polled (sync_orders)")
        return store.webhook_url

    @admin.display(description=gettext_lazy("refused signatures"))
    def refused_signatures(self, store: Store) -> str:
        if not store.signature_failures:
            return "0"
        return _("%(count)s, the last at %(time)s (check the webhook secret)") % {
            "count": store.signature_failures,
            "time": store.last_signature_failure_at,
        }

    @admin.display(description=gettext_lazy("failed deliveries"))
    def failed(self, store: Store) -> str:
        count = getattr(store, "failed_count", None)
        if count is None:
            count = store.deliveries.filter(state=FAILED).count() if store.pk else 0
        if not count:
            return "0"
        url = (
            reverse("admin:stores_delivery_changelist")
            + "?"
            + urlencode({"store__id__exact": str(store.pk), "state__exact": str(FAILED)})
        )
        return format_html('<a href="{}">{}</a>', url, count)

    @admin.display(description=gettext_lazy("write-back health"))
    def write_back_health(self, store: Store) -> str:
        if store.pk is None:
            return "-"
        health = stores_health([store])[0]
        never = _("never")
        return _(
            "last success: %(success)s; last failure: %(failure)s; pending: %(pending)s; given up: %(dead)s"
        ) % {
            "success": health.last_success_at or never,
            "failure": health.last_failure_at or never,
            "pending": health.pending,
            "dead": health.dead,
        }

    def get_urls(self):
        replay = self.admin_site.admin_view(self.replay_view)
        retry = self.admin_site.admin_view(self.retry_view)
        return [
            path("<int:store_id>/replay/", replay, name="stores_store_replay"),
            path("<int:store_id>/retry-changes/", retry, name="stores_store_retry_changes"),
            *super().get_urls(),
        ]

    def retry_view(self, request: HttpRequest, store_id: int) -> HttpResponse:
        """Queue the store's dead changes again (a POST from the store's page; CSRF-checked by the admin)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        store = get_object_or_404(Store, pk=store_id)
        count = changes_retry(store=store)
        self.message_user(
            request,
            ngettext(
                "%(count)s change is queued for %(store)s again.",
                "%(count)s changes are queued for %(store)s again.",
                count,
            )
            % {"count": count, "store": store.name},
            messages.SUCCESS if count else messages.INFO,
        )
        return HttpResponseRedirect(reverse("admin:stores_store_change", args=[store.pk]))

    def replay_view(self, request: HttpRequest, store_id: int) -> HttpResponse:
        """Replay the store's failed deliveries (a POST from the store's page; CSRF-checked by the admin)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:index"))
        store = get_object_or_404(Store, pk=store_id)
        ids = list(
            Delivery.objects.filter(store=store, state=FAILED)
            .order_by("received_at", "id")
            .values_list("pk", flat=True)
        )
        replay_report(request, self, ids)
        return HttpResponseRedirect(reverse("admin:stores_store_change", args=[store.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["failed_count"] = obj.deliveries.filter(state=FAILED).count() if obj is not None else 0
        context["dead_changes"] = store_dead_changes(obj) if obj is not None else []
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.action(description=gettext_lazy("Replay the selected deliveries"))
def replay_selected(model_admin, request, queryset):
    replay_report(
        request, model_admin, list(queryset.order_by("received_at", "id").values_list("pk", flat=True))
    )


@admin.register(Delivery)
class DeliveryAdmin(SuperusersOnly, BoundedSearchAdmin):
    list_display = ["received_at", "store", "topic", "order_number", "state", "error_summary", "attempts"]
    list_filter = ["state", "store"]
    list_select_related = ["store"]
    search_fields = ["=order_number", "=key"]
    actions = [replay_selected]
    readonly_fields = [
        "store",
        "key",
        "topic",
        "received_at",
        "state",
        "error",
        "order",
        "order_number",
        "applied_at",
        "attempts",
        "headers",
        "body",
    ]
    fields = tuple(readonly_fields)

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Read-only: a delivery is what the store sent. The replay action is a POST of its own.
        return False

    @admin.display(description=gettext_lazy("error"))
    def error_summary(self, delivery: Delivery) -> str:
        return delivery.error[:160]
