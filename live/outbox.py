"""Delivering the email outbox: claim due messages, send each outside any transaction, record the outcome.

A worker claims a batch in one short statement that moves the messages' next attempt a lease ahead
(ORDEROPS["OUTBOX_LEASE"]) and stamps them with its claim; on PostgreSQL the statement picks its rows FOR
UPDATE SKIP LOCKED, so workers running at once claim different messages without waiting for each other; on
SQLite the statement is alone among writers (transactions start IMMEDIATE), which is as correct for several
workers, only slower. The send then runs with no transaction open, and the outcome is written only where the
claim is still this worker's.

Why a lease rather than a transaction held open while sending: an SMTP exchange can take seconds, and a
transaction held that long keeps a database connection busy and, on SQLite, blocks every other writer of the
console. With the lease, a worker killed mid-send leaves its messages claimed until the lease ends, and the
next run sends them. The price is the one every outbox pays: a worker killed after the server accepted a
message but before it recorded that may lead to a second copy; a live worker never sends one twice, as long
as one send (bounded by EMAIL_TIMEOUT) ends within the lease (a system check compares the two).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from live.models import OutboxMessage
from live.wording import notification_detail_label, notification_sentence
from operators.preferences import preference_of, zone
from orderops.conf import orderops_setting
from orderops.db import db_datetime
from orderops.formatting import exact_time
from orderops.outbox import doubling_delay

Status = OutboxMessage.Status
# A message's subject names the product, so that people can filter on it.
SUBJECT_PREFIX = "[orderops] "
# How much of an error the row keeps.
ERROR_LENGTH = 2000


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: the first delay, doubled each time, up to the most."""
    return doubling_delay(
        attempts,
        first=orderops_setting("OUTBOX_RETRY_DELAY"),
        longest=orderops_setting("OUTBOX_RETRY_DELAY_MAX"),
    )


def outbox_claim(*, worker: str, limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due messages for `worker`, oldest due first: one statement. Returns their ids."""
    now = now or timezone.now()
    lease_end = now + timedelta(seconds=orderops_setting("OUTBOX_LEASE"))
    table = OutboxMessage._meta.db_table
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {table} SET claim = %s, next_attempt_at = %s, attempts = attempts + 1"
        f" WHERE id IN (SELECT id FROM {table} WHERE status = %s AND next_attempt_at <= %s"
        f" ORDER BY next_attempt_at, id LIMIT %s{skip_locked})"
        " RETURNING id"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [worker, db_datetime(lease_end), Status.PENDING, db_datetime(now), limit])
        return sorted(row[0] for row in cursor.fetchall())


def order_address(order_id: int) -> str:
    base = orderops_setting("NOTIFICATION_SITE_URL").rstrip("/")
    return f"{base}{reverse('admin:orders_order_change', args=[order_id])}" if base else ""


def message_text(message: OutboxMessage) -> tuple[str, str]:
    """The subject and body of a message's email, from its notification, in the recipient's language and
    time zone (operators.preferences; the site's LANGUAGE_CODE and TIME_ZONE when they chose none)."""
    chosen = preference_of(message.notification.recipient_id)
    with (
        translation.override(chosen.language or settings.LANGUAGE_CODE),
        timezone.override(zone(chosen.time_zone)),
    ):
        return _message_text(message)


def _message_text(message: OutboxMessage) -> tuple[str, str]:
    notification = message.notification
    sentence = notification_sentence(notification)
    lines = [sentence + ".", "", _("When: %(time)s") % {"time": exact_time(notification.created_at)}]
    if notification.detail:
        lines += ["", f"{notification_detail_label(notification)}: {notification.detail}"]
    address = order_address(notification.order_id)
    if address:
        lines += ["", _("Open the order: %(address)s") % {"address": address}]
    lines += [
        "",
        "-- ",
        _("You get this email because of your notification settings in orderops."),
    ]
    return (SUBJECT_PREFIX + sentence)[:255], "\n".join(lines) + "\n"


@dataclass
class Delivery:
    """What one pass did: messages sent, to be retried, given up."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.failed


def _mine(message_id: int, worker: str):
    return OutboxMessage.objects.filter(pk=message_id, claim=worker, status=Status.PENDING)


def _record_failure(message: OutboxMessage, worker: str, error: str) -> bool:
    """Record a failed attempt: retried after the backoff, or failed for good after the last attempt.
    Returns True when the message will be retried."""
    now = timezone.now()
    retrying = message.attempts < orderops_setting("OUTBOX_MAX_ATTEMPTS")
    _mine(message.pk, worker).update(
        status=Status.PENDING if retrying else Status.FAILED,
        next_attempt_at=now + retry_delay(message.attempts) if retrying else message.next_attempt_at,
        last_error=error[:ERROR_LENGTH],
        claim="",
    )
    return retrying


def outbox_send_one(message_id: int, *, worker: str) -> str:
    """Send one claimed message; returns "sent", "retrying" or "failed" (or "" when no longer ours)."""
    message = (
        _mine(message_id, worker)
        .select_related("notification__order", "notification__actor", "notification__holder")
        .first()
    )
    if message is None:
        return ""
    if message.attempts > orderops_setting("OUTBOX_MAX_ATTEMPTS"):
        # Its earlier claims ended without an outcome (their workers stopped while sending): give up.
        _mine(message.pk, worker).update(
            status=Status.FAILED,
            last_error=message.last_error
            or _("Gave up after %(count)s attempts that ended without a result.")
            % {"count": message.attempts - 1},
            claim="",
        )
        return "failed"
    if not message.subject:
        # Rendered once, by the first worker to claim it; every retry sends the same text.
        message.subject, message.body = message_text(message)
        _mine(message.pk, worker).update(subject=message.subject, body=message.body)
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_address],
        headers={"X-Orderops-Notification": str(message.notification_id)},
    )
    try:
        email.send()
    except Exception as error:  # any backend's failure is this message's, not the worker's
        return (
            "retrying" if _record_failure(message, worker, f"{type(error).__name__}: {error}") else "failed"
        )
    _mine(message.pk, worker).update(status=Status.SENT, sent_at=timezone.now(), claim="", last_error="")
    return "sent"


def outbox_deliver(*, worker: str, limit: int = 50, stop: Callable[[], bool] = lambda: False) -> Delivery:
    """One pass: claim up to `limit` due messages and send them one by one (until `stop()` says so)."""
    delivery = Delivery()
    for message_id in outbox_claim(worker=worker, limit=limit):
        if stop():
            # Not sent: hand the rest back at once rather than at the end of the lease.
            _mine(message_id, worker).update(
                claim="", next_attempt_at=timezone.now(), attempts=F("attempts") - 1
            )
            continue
        outcome = outbox_send_one(message_id, worker=worker)
        if outcome == "sent":
            delivery.sent += 1
        elif outcome == "retrying":
            delivery.retrying += 1
        elif outcome == "failed":
            delivery.failed += 1
    return delivery
