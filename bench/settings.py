"""Django settings for benchmark processes: the real settings with DEBUG off, plus the stock admin's URLs.

The pages render `{% static %}`, which under DEBUG off needs collectstatic's manifest; the benchmark does not
run collectstatic, so static files use the plain storage (URL building costs the same either way).
"""

import os

os.environ["DEBUG"] = "0"  # the figures are for production settings, whatever the shell says
os.environ.setdefault("SECRET_KEY", "orderops-bench-only-not-a-secret")

from orderops.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "bench.urls"
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]  # django.test.Client's host; gunicorn's (bench/http_load.py)
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
# Warnings only: a benchmark that logs every request times the log handler too.
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}  # noqa: F405
LOG_FORMAT = "text"
LOGGING["handlers"]["stderr"]["formatter"] = "text"
# Outermost: the Server-Timing header covers every middleware and the view (bench/timing.py).
MIDDLEWARE = ["bench.timing.ServerTimingMiddleware", *MIDDLEWARE]  # noqa: F405
