"""The console's order screens in the Django admin."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from orders.models import Order, OrderComment, OrderLine, OrderStatus


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["sku", "name", "qty", "unit_price"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "customer_name", "total", "status"]
    list_display_links = ["number"]
    list_filter = ["status"]
    list_select_related = ["status"]
    search_fields = ["=number", "customer_name", "customer_email"]
    date_hierarchy = None
    show_full_result_count = False
    ordering = ["-created_at", "-id"]
    inlines = [OrderLineInline]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["number", "status", ("created_at", "updated_at")]}),
        (_("Customer"), {"fields": ["customer_name", "customer_email", "customer_phone"]}),
        (_("Total"), {"fields": [("grand_total", "currency")]}),
        (
            _("Shipping address"),
            {
                "fields": [
                    "shipping_name",
                    "shipping_street",
                    ("shipping_postcode", "shipping_city"),
                    "shipping_country",
                ]
            },
        ),
    ]

    @admin.display(description=_("total"), ordering="grand_total")
    def total(self, order: Order) -> str:
        return f"{order.grand_total} {order.currency}"


@admin.register(OrderStatus)
class OrderStatusAdmin(admin.ModelAdmin):
    list_display = ["code", "label", "position", "releases_assignment"]
    list_editable = ["label", "position", "releases_assignment"]
    ordering = ["position", "code"]


@admin.register(OrderComment)
class OrderCommentAdmin(admin.ModelAdmin):
    list_display = ["order", "author", "created_at", "body"]
    list_select_related = ["order", "author"]
    search_fields = ["=order__number", "body"]
    raw_id_fields = ["order"]
    readonly_fields = ["author", "created_at"]

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)
