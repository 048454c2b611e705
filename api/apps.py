"""The API app's configuration."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "REST API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from api import checks, schema  # noqa: F401  (registers the settings' check, the key's OpenAPI scheme)
