"""Settings for the test suite: the real settings, with a test-only key and a fast password hasher."""

import os
import tempfile
from pathlib import Path

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

# SQLite: the test database is a file (under the memory-backed /dev/shm where there is one), not SQLite's
# in-memory database. An in-memory database is one connection, which the browser tests' live server shares
# between its request threads; with the live console's heartbeats and polls arriving while a test clicks,
# two requests on that one connection could undo each other's writes (a session: a user logged out mid-test).
# A file gives every thread its own connection, serialized by SQLite's own locking (WAL, BEGIN IMMEDIATE and
# a 20 s busy timeout, set in orderops/settings.py), as the demo's file is.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    _shm = Path("/dev/shm")
    _test_dir = _shm if _shm.is_dir() and os.access(_shm, os.W_OK) else Path(tempfile.gettempdir())
    DATABASES["default"]["TEST"] = {"NAME": str(_test_dir / f"orderops-tests-{os.getpid()}.sqlite3")}  # noqa: F405
