"""Notifications (what changed for a person, written in the change's own transaction), each person's email
preferences, and the email outbox that `send_notifications` delivers."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["Notification", "NotificationPreference", "OutboxMessage"]


class Notification(models.Model):
    """Something another person (or the system) did that concerns the recipient. Never about the
    recipient's own actions. Unread while read_at is empty."""

    class Kind(models.TextChoices):
        TAKEN_OVER = "taken_over", _("Your hold was taken over")
        TRANSFERRED = "transferred", _("Your order was transferred")
        ASSIGNED = "assigned", _("An order was assigned to you")
        EXPIRED = "expired", _("Your hold expired")
        CHANGED = "changed", _("Your held order was changed")
        MENTIONED = "mentioned", _("You were mentioned in a comment")
        RELEASED = "released", _("A colleague released your hold")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
        db_index=False,  # the two indexes below start with recipient
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="+", verbose_name=_("order")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Who did it; empty when the system did (expiry, an import)."),
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("new holder"),
        help_text=_("Whose hold the order became (a transfer)."),
    )
    detail = models.TextField(
        _("detail"), blank=True, help_text=_("The reason given, the fields changed, or the comment's text.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The notifications page: mine, newest first.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recipient_idx"),
            # The bell's count and "my unread, newest first": only the unread rows, which stay few.
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.order_id}) for {self.recipient_id}"


class NotificationPreference(models.Model):
    """Whether a person wants an email for one kind of notification. Without a row the default applies
    (ORDEROPS["NOTIFICATION_EMAIL_KINDS"]). The console always shows every notification."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preferences",
        verbose_name=_("user"),
        db_index=False,  # the unique constraint starts with user
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Notification.Kind.choices)
    email = models.BooleanField(_("send an email"))

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {'email' if self.email else 'console only'}"


class OutboxMessage(models.Model):
    """One email to send for one notification, written in the notification's transaction and delivered by
    `send_notifications` (live/outbox.py). A worker claims a message by moving next_attempt_at past a lease;
    a worker that dies while sending leaves it due again once the lease ends."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    notification = models.OneToOneField(
        Notification, on_delete=models.CASCADE, related_name="email", verbose_name=_("notification")
    )
    to_address = models.EmailField(_("to"))
    # Rendered from the notification by the worker that first claims the message, then kept: every
    # attempt sends the same text, and the row says what was sent.
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    claim = models.CharField(_("claimed by"), max_length=64, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The workers' queue: pending messages, due first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="outbox_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.to_address}: {self.subject or self.notification_id} ({self.status})"
