"""URLs of benchmark processes: the console's own, and the stock admin at /stockadmin/."""

from django.urls import path

from bench.stock_admin import stock_site
from orderops.urls import urlpatterns as console_urlpatterns

urlpatterns = [*console_urlpatterns, path("stockadmin/", stock_site.urls)]
