"""Django settings for orderops, read from the environment (see README "Configuration")."""

import os
import secrets
import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

# Management commands that sign nothing and serve no one: they run where the production key is not at hand
# (a build step, a developer's check that the migrations and the catalogue are current) and get a random key
# for their own process. Anything that serves requests, sends mail or reads sessions still needs SECRET_KEY.
OFFLINE_COMMANDS = frozenset(
    {"makemigrations", "makemessages", "compilemessages", "sqlmigrate", "collectstatic"}
)


def offline_command(argv: list[str]) -> bool:
    """Whether this process is `manage.py <command>` (or django-admin) for one of OFFLINE_COMMANDS."""
    return (
        len(argv) > 1 and Path(argv[0]).name in {"manage.py", "django-admin"} and argv[1] in OFFLINE_COMMANDS
    )


SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and offline_command(sys.argv):
    SECRET_KEY = secrets.token_urlsafe(50)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: set it in the environment (or DEBUG=1 for local development only)."
        )
    SECRET_KEY = "django-insecure-orderops-development-only-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "orders",
    "operators",
    "console",
    "live",
    "stores",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The Content-Security-Policy header of every answer (SECURE_CSP below).
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A NUL in an address, a query string or a console form: a 400 (in the person's language) before any
    # view or query reads it.
    "orderops.errors.RefuseNulMiddleware",
    # A console list's filter with a value it cannot take: a 400 naming it, not the admin's "Database error".
    "orderops.errors.RefuseBadFiltersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After auth: the person's own language and time zone over the browser's and the site's.
    "console.preferences.PreferenceMiddleware",
    # After messages: a session past its idle timeout or its maximum age is logged out, with a message.
    "console.sessions.SessionTimeoutMiddleware",
    # After auth and messages: a repeated submit is answered with the first one's redirect and messages.
    "console.once.SubmitOnceMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "orderops.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# Django's form and widget templates by Jinja2, the rest by Django's engine (orderops/forms_renderer.py).
FORM_RENDERER = "orderops.forms_renderer.FormRenderer"

WSGI_APPLICATION = "orderops.wsgi.application"

# One database URL: PostgreSQL in production and CI, an SQLite file in the project folder by default.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while one writer writes; IMMEDIATE takes the write lock when a transaction
    # starts, so two writers queue (up to the timeout) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE", "timeout": 20}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The browser's language (Accept-Language) unless the person chose one (operators.preferences).
LANGUAGES = [("en", _("English")), ("bg", _("Bulgarian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Bulgarian dates and times as a Bulgarian office writes them: 06.12.2026 14:05 (Django's own lacks them).
FORMAT_MODULE_PATH = ["orderops.formats"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Served by WhiteNoise from the app servers (no separate static host needed): compressed, with hashed
# names that browsers may cache for a year. Needs `collectstatic` (make serve runs it).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development WhiteNoise serves straight from the source folders, without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS: set HTTPS=1 when the site is served over TLS (usually by a proxy that terminates it and sets
# X-Forwarded-Proto). Then cookies are secure, plain HTTP is redirected, and HSTS is sent.
HTTPS = env_bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP inside the network
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SESSION_COOKIE_HTTPONLY = True
# The longest a console session lasts after its login, however active (console/sessions.py ends it; the idle
# timeout is ORDEROPS["SESSION_IDLE_TIMEOUT"]). Django's default is two weeks.
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_MAX_AGE", str(12 * 60 * 60)))
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy on every page: scripts, styles, images and fonts from this site only, and no inline
# script or style at all (no nonce, no 'unsafe-inline'): the console's JS inserts server HTML, and a script or
# a style attribute smuggled into it would not run. Images may be data: URIs (the admin's and the API docs'
# icons). The browser tests fail on any violation (tests/browser/conftest.py).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Logs go to stderr, one JSON object per line unless LOG_FORMAT=text (the default with DEBUG): stdout stays
# the commands' own output (release_orders --json piped into another tool must read nothing else).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "orderops.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": LOG_FORMAT}
    },
    "root": {"handlers": ["stderr"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # httpx logs every request to a store at INFO: the stores' own lines (orderops.stores) say what matters.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}

LOGIN_URL = "admin:login"

# An action may name up to ORDEROPS["BULK_MAX_ORDERS"] (10,000) ticked orders, one form field each; past
# that Django answers 400 (templates/400.html says why) before any code of ours runs.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_500

# Product settings; every key and its default is documented in orderops/conf.py.
# The demo's stores are Bulgarian: their customers' phones come as "0888 123 456" as often as "+359 ...".
# Behind a proxy, name the header that carries the client's address
# (CLIENT_ADDRESS_HEADER=HTTP_X_FORWARDED_FOR): the login throttle counts per address, and otherwise every
# client would be the proxy.
ORDEROPS: dict = {
    "PHONE_REGION": os.environ.get("ORDEROPS_PHONE_REGION", "BG"),
    **{key: os.environ[key] for key in ("CLIENT_ADDRESS_HEADER",) if os.environ.get(key)},
}

# --- email: the notifications' outbox (send_notifications, live/outbox.py) --------------------------------

# The demo (DEBUG) prints each email on the worker's console; production sends through the SMTP server
# configured here (Django's MAILERS; EMAIL_BACKEND overrides the backend). EMAIL_TIMEOUT (seconds) bounds one
# SMTP send and must stay below ORDEROPS["OUTBOX_LEASE"] (a system check says so).
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_BACKEND_NAME = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if DEBUG else SMTP_BACKEND
)
MAILERS = {
    "default": {
        "BACKEND": EMAIL_BACKEND_NAME,
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", default=False),
            "use_ssl": env_bool("EMAIL_USE_SSL", default=False),
            "timeout": int(os.environ.get("EMAIL_TIMEOUT", "30")),
        }
        if EMAIL_BACKEND_NAME == SMTP_BACKEND
        else {},
    }
}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orderops@localhost")

# --- the REST API (api/, README "REST API") -----------------------------------------------------------------

# The default cache: Redis when REDIS_URL is set (shared by every process and host), otherwise each process's
# own memory. The API throttle counts in the database unless Redis is there (ORDEROPS_API["THROTTLE_STORE"]),
# so that a default install's limit holds across its workers; failed logins are always rows in the database.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "orderops"}
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.MayViewOrders"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
}

# The API's own settings; every key and its default is documented in api/conf.py.
ORDEROPS_API: dict = {
    "THROTTLE_RATE": os.environ.get("API_THROTTLE_RATE", "600/min"),
    "THROTTLE_STORE": os.environ.get("API_THROTTLE_STORE") or ("cache" if REDIS_URL else "database"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "orderops API",
    "DESCRIPTION": "Orders, their holds, comments and timeline, for store integrations and tools.",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads every asset, favicon included, from our own static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
