"""The reference for the console's list: a stock ModelAdmin for Order on an admin site of its own.

Registered in benchmark processes only (bench/urls.py). Its list shows the same columns with Django's
defaults: exact full counts, a filter by status and by creation date, search over number, name and email.
The console's holder filters have no stock equivalent; the nearest stock query is a filter over the
assignment's operator (`assignment__operator`), which also answers "unassigned" through its
`assignment__operator__isnull` parameter. The console's templates for orders are its own, so this admin
names Django's.
"""

from django.contrib import admin

from orders.models import Order

stock_site = admin.AdminSite(name="stockadmin")


@admin.register(Order, site=stock_site)
class StockOrderAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "customer_name", "grand_total", "status"]
    list_filter = ["status", "created_at", "assignment__operator"]
    search_fields = ["number", "customer_name", "customer_email"]
    # Django's own templates: the console overrides admin/orders/order/*.html, which every site would use.
    change_list_template = "admin/change_list.html"
    change_form_template = "admin/change_form.html"
