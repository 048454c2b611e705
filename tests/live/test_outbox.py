"""The email outbox and send_notifications: sent once, retried with backoff, failures recorded, a killed
worker's message sent by the next run, several workers at once never sending one message twice."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from io import StringIO
from pathlib import Path
from smtplib import SMTPServerDisconnected

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from live.models import Notification, OutboxMessage
from live.outbox import outbox_claim, outbox_deliver, retry_delay
from operators.services import orders_assign, orders_take_over
from orderops.outbox import worker_name
from tests.factories import OperatorFactory, OrderFactory, UserFactory

REPO = Path(__file__).resolve().parents[2]
Status = OutboxMessage.Status


def run(*args: str) -> str:
    out = StringIO()
    call_command("send_notifications", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def taken_over(holder, supervisor, count: int = 1, reason: str = "customer called") -> list[int]:
    """`count` orders of `holder` taken over by `supervisor`: one queued email each (the default)."""
    orders = OrderFactory.create_batch(count)
    ids = [order.pk for order in orders]
    orders_assign(actor=holder, order_ids=ids)
    orders_take_over(actor=supervisor, order_ids=ids, reason=reason)
    return ids


def make_due() -> None:
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def failing_smtp(monkeypatch):
    """The mail server refuses every message."""

    def refuse(self, messages):
        raise SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)


# --- delivery ---------------------------------------------------------------------------------------------


def test_send_notifications_once_sends_each_due_email_once_with_who_and_why(
    operator, supervisor, mailoutbox, settings
):
    settings.ORDEROPS = {"NOTIFICATION_SITE_URL": "https://orders.example.com/"}
    (order_id,) = taken_over(operator, supervisor, reason="customer called twice")
    number = Notification.objects.get().order.number

    assert run("--once") == "Sent 1, to retry 0, failed 0.\n"
    assert run("--once") == "No email was due.\n"

    (email,) = mailoutbox
    assert email.to == ["anna@orderops.test"]
    assert email.subject == f"[orderops] Boris took over #{number} from you"
    assert "Reason: customer called twice" in email.body
    assert f"https://orders.example.com/admin/orders/order/{order_id}/change/" in email.body
    assert email.extra_headers["X-Orderops-Notification"] == str(Notification.objects.get().pk)
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.claim) == (Status.SENT, 1, "")
    assert message.sent_at is not None and message.subject == email.subject


def test_a_failed_send_is_retried_with_a_doubling_wait_then_marked_failed(
    operator, supervisor, failing_smtp, settings
):
    settings.ORDEROPS = {"OUTBOX_MAX_ATTEMPTS": 3, "OUTBOX_RETRY_DELAY": 60, "OUTBOX_RETRY_DELAY_MAX": 3600}
    taken_over(operator, supervisor)

    waits = []
    for attempt in (1, 2):
        before = timezone.now()
        assert run("--once") == "Sent 0, to retry 1, failed 0.\n"
        message = OutboxMessage.objects.get()
        assert (message.status, message.attempts) == (Status.PENDING, attempt)
        assert message.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
        waits.append(round((message.next_attempt_at - before).total_seconds()))
        assert run("--once") == "No email was due.\n"  # not before its next attempt
        make_due()
    assert waits == [60, 120]

    assert run("--once") == "Sent 0, to retry 0, failed 1.\n"
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.sent_at) == (Status.FAILED, 3, None)
    assert "SMTPServerDisconnected" in message.last_error
    make_due()
    assert run("--once") == "No email was due.\n"  # failed for good


def test_the_retry_wait_doubles_up_to_the_longest(settings):
    settings.ORDEROPS = {"OUTBOX_RETRY_DELAY": 30, "OUTBOX_RETRY_DELAY_MAX": 200}
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [30, 60, 120, 200, 200]


def test_a_killed_workers_message_is_sent_by_the_next_run_once_its_claim_ends(
    operator, supervisor, mailoutbox, settings
):
    settings.ORDEROPS = {"OUTBOX_LEASE": 300}
    taken_over(operator, supervisor)
    dead = worker_name()
    assert len(outbox_claim(worker=dead, limit=10)) == 1  # ...and the worker dies before sending

    assert run("--once") == "No email was due.\n"  # still claimed: nobody sends it twice meanwhile
    make_due()  # the lease has run out
    assert run("--once") == "Sent 1, to retry 0, failed 0.\n"
    assert len(mailoutbox) == 1
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (Status.SENT, 2)

    # The dead worker's claim is no longer the message's: nothing it might still write lands.
    assert OutboxMessage.objects.filter(claim=dead).count() == 0


def test_a_message_whose_claims_all_ended_without_a_result_is_given_up(operator, supervisor, settings):
    settings.ORDEROPS = {"OUTBOX_MAX_ATTEMPTS": 2}
    taken_over(operator, supervisor)
    for _ in range(2):
        outbox_claim(worker=worker_name(), limit=1)  # two workers killed while sending
        make_due()
    assert run("--once") == "Sent 0, to retry 0, failed 1.\n"
    message = OutboxMessage.objects.get()
    assert message.status == Status.FAILED
    assert message.last_error == "Gave up after 2 attempts that ended without a result."


def test_a_stopping_worker_hands_its_unsent_claims_back_at_once(operator, supervisor, mailoutbox):
    taken_over(operator, supervisor, count=3)
    sent = []

    def stop() -> bool:
        sent.append(len(mailoutbox))
        return len(mailoutbox) >= 1

    delivery = outbox_deliver(worker=worker_name(), limit=10, stop=stop)
    assert delivery.sent == 1
    pending = OutboxMessage.objects.filter(status=Status.PENDING)
    assert pending.count() == 2
    assert all(message.claim == "" and message.attempts == 0 for message in pending)
    assert run("--once") == "Sent 2, to retry 0, failed 0.\n"


def test_send_notifications_refuses_bad_options(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="--batch-size must be at least 1"):
        run("--once", "--batch-size", "0")
    with pytest.raises(CommandError, match="--sleep cannot be negative"):
        run("--once", "--sleep", "-1")


# --- several workers, PostgreSQL --------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_workers_running_at_once_never_send_one_message_twice(roles, mailoutbox, monkeypatch):
    holder = OperatorFactory(username="anna", first_name="Anna")
    supervisor = UserFactory(username="boss", first_name="Boris", is_staff=True, is_superuser=True)
    taken_over(holder, supervisor, count=120)
    assert OutboxMessage.objects.count() == 120

    send = EmailBackend.send_messages

    def slow_send(self, messages):
        time.sleep(0.003)  # long enough that the workers' claims overlap
        return send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow_send)
    start = threading.Barrier(4)
    claims: list[int] = []

    def worker() -> None:
        try:
            start.wait()
            name = worker_name()
            while True:
                delivery = outbox_deliver(worker=name, limit=7)
                claims.append(delivery.claimed)
                if not delivery.claimed:
                    break
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    sent_ids = [email.extra_headers["X-Orderops-Notification"] for email in mailoutbox]
    assert len(sent_ids) == 120 and len(set(sent_ids)) == 120
    assert sum(claims) == 120
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}
    assert len([count for count in claims if count]) > 4  # every worker took some, in turns


CHILD = """
import os, sys, time
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
django.setup()
from django.conf import settings
settings.ORDEROPS = {"OUTBOX_LEASE": 2}
from django.core.mail.backends.locmem import EmailBackend
def hang(self, messages):
    print("sending", flush=True)
    time.sleep(3600)
EmailBackend.send_messages = hang
from django.core.management import call_command
call_command("send_notifications", "--sleep", "0.1")
"""


@pytest.mark.postgres
@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_sending_leaves_its_message_to_the_next_run(roles, mailoutbox):
    holder = OperatorFactory(username="anna", first_name="Anna")
    supervisor = UserFactory(username="boss", first_name="Boris", is_staff=True, is_superuser=True)
    taken_over(holder, supervisor)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "sending", child.stderr.read()
        claimed = OutboxMessage.objects.get()
        assert claimed.claim and claimed.attempts == 1 and claimed.status == Status.PENDING
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)

    assert run("--once") == "No email was due.\n"  # its claim lasts 2 s
    time.sleep(2.2)
    assert run("--once") == "Sent 1, to retry 0, failed 0.\n"
    assert len(mailoutbox) == 1
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == (Status.SENT, 2)
