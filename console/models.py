"""What the console keeps of its own: the one-time tokens of state-changing submits."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SubmitToken(models.Model):
    """A state-changing form's one-time token, and what its first submit answered.

    The row is inserted, in the request's own transaction, before the view runs: a second submit of the same
    token (a double click, a re-sent form) waits on the unique key until the first commits, then is answered
    with the first one's redirect and messages instead of acting again.
    """

    token = models.CharField(_("token"), max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    location = models.CharField(_("redirected to"), max_length=2000, blank=True)
    messages = models.JSONField(_("messages"), default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="submittoken_user_idx")]
        verbose_name = _("submit token")
        verbose_name_plural = _("submit tokens")

    def __str__(self) -> str:
        return self.token
