"""URL routes: the console lives in the Django admin, the REST API under api/v1/; the site root leads to the
order list."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from console.login import ConsoleLoginForm
from console.views import landing
from orderops.health import healthz

admin.site.site_header = "orderops"
admin.site.site_title = "orderops"
admin.site.index_title = "Order console"
admin.site.login_form = ConsoleLoginForm

# Problem details under /api/, the console's own pages elsewhere (orderops/errors.py).
handler400 = "orderops.errors.bad_request"
handler404 = "orderops.errors.page_not_found"
handler500 = "orderops.errors.server_error"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:orders_order_changelist", permanent=False)),
    # The console's home (an operator's working view) before the admin's own index at the same address.
    path("admin/", admin.site.admin_view(landing), name="console_landing"),
    path("admin/live/", include("live.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("api.urls")),
]
