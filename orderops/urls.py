"""URL routes: the console lives in the Django admin, the REST API under api/v1/; the site root leads to the
order list."""

from django.contrib import admin
from django.urls import include, path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views.decorators.http import last_modified
from django.views.generic import RedirectView
from django.views.i18n import JavaScriptCatalog

from console.login import ConsoleLoginForm
from console.preferences import preferences_save
from console.views import landing
from orderops.health import healthz
from stores.webhooks import store_webhook

STARTED = timezone.now().replace(microsecond=0)

admin.site.site_header = "orderops"
admin.site.site_title = "orderops"
admin.site.index_title = gettext_lazy("Order console")
admin.site.login_form = ConsoleLoginForm

# Problem details under /api/, the console's own pages elsewhere (orderops/errors.py).
handler400 = "orderops.errors.bad_request"
handler404 = "orderops.errors.page_not_found"
handler500 = "orderops.errors.server_error"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:orders_order_changelist", permanent=False)),
    # The console's home (an operator's working view) before the admin's own index at the same address.
    path("admin/", admin.site.admin_view(landing), name="console_landing"),
    path("admin/preferences/", admin.site.admin_view(preferences_save), name="console_preferences"),
    # The scripts' texts in the page's language; they change only with a deploy, so a browser revalidates
    # (304) instead of downloading them again on every page. The pages ask for ?language=<theirs>: one
    # cached copy per language, so that a change of language is never answered from the other's copy.
    path(
        "jsi18n/",
        last_modified(lambda request, **kwargs: STARTED)(JavaScriptCatalog.as_view()),
        name="javascript_catalog",
    ),
    path("admin/live/", include("console.live_urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include("api.urls")),
    # Connected stores' webhooks: one address per store, signed by the store (stores/webhooks.py).
    path("hooks/<slug:slug>/", store_webhook, name="store_webhook"),
]
