"""SQLite's own functions for the order domain's searches. SQLite's LIKE, UPPER and LOWER know only ASCII
letters, so a case-insensitive search for a Cyrillic word (`еконт` in "офис на Еконт") found nothing there,
where PostgreSQL's UPPER knows every alphabet. Each SQLite connection gets `orderops_casefold(text)`, Python's
str.casefold, for the searches that compare folded text (the Internal comments list)."""

from django.db.backends.signals import connection_created

CASEFOLD = "orderops_casefold"


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


def sqlite_functions_register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(CASEFOLD, 1, _casefold, deterministic=True)


def sqlite_functions_connect() -> None:
    connection_created.connect(sqlite_functions_register, dispatch_uid="orders.sqlite_functions")
