"""Settings for the test suite: the real settings, with a test-only key and a fast password hasher."""

import os

os.environ.setdefault("SECRET_KEY", "orderops-tests-only-not-a-secret")

from orderops.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Tests render pages without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
LOG_FORMAT = "text"
LOGGING["handlers"]["stderr"]["formatter"] = "text"  # noqa: F405
# Emails stay in django.core.mail.outbox.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
