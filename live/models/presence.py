"""Presence: who has which order open, per browser tab, as state with a time-out (not a connection)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["Presence"]


class Presence(models.Model):
    """One browser tab's presence on one order page, refreshed by its heartbeat; counted as gone once its
    heartbeat is older than the time-out (live.presence)."""

    class State(models.TextChoices):
        VIEWING = "viewing", _("viewing")
        EDITING = "editing", _("editing")

    tab = models.CharField(_("tab"), max_length=64)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.VIEWING)
    opened_at = models.DateTimeField(_("opened at"))
    seen_at = models.DateTimeField(_("last heartbeat"))

    class Meta:
        verbose_name = _("presence")
        verbose_name_plural = _("presences")
        constraints = [models.UniqueConstraint(fields=["user", "tab"], name="presence_one_row_per_tab")]
        indexes = [models.Index(fields=["order", "seen_at"], name="presence_order_seen_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.state} order {self.order_id} (tab {self.tab})"
