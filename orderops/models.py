"""Model helpers the apps share."""

from typing import Any, NoReturn

from django.db import models


class AppendOnly(models.Model):
    """A history table: rows are written once, in the transaction of the change they record, and never
    edited or deleted by the app (the assignment log, the orders' field changes)."""

    class Meta:
        abstract = True

    def save(self, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} is append-only: its rows are never edited.")
        super().save(**kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(f"{type(self).__name__} is append-only: its rows are never deleted.")
