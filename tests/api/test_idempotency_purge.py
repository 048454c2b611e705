"""api_idempotency_purge: the kept responses to Idempotency-Keys go once their lifetime is over, a batch per
DELETE; a dry run deletes nothing; a lifetime cut short is refused."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.models import IdempotencyRecord
from tests.api.conftest import client_for
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def records_aged(user, *hours: float) -> list[IdempotencyRecord]:
    now = timezone.now()
    return [
        IdempotencyRecord.objects.create(
            owner=user, key=f"key-{index}", fingerprint="f", created_at=now - timedelta(hours=age)
        )
        for index, age in enumerate(hours)
    ]


def purge(*args: str) -> str:
    out = StringIO()
    call_command("api_idempotency_purge", *args, stdout=out)
    return out.getvalue()


def remaining_keys() -> set[str]:
    return set(IdempotencyRecord.objects.values_list("key", flat=True))


def test_records_older_than_their_24h_lifetime_are_deleted_the_younger_kept(db):
    user = UserFactory()
    records_aged(user, 1, 23.9, 24.1, 30, 24 * 40)
    output = purge()
    assert remaining_keys() == {"key-0", "key-1"}
    assert "Deleted 3 idempotency records older than 1d" in output and "1 batch." in output


def test_a_dry_run_counts_and_deletes_nothing(db):
    user = UserFactory()
    records_aged(user, 1, 25, 48)
    output = purge("--dry-run")
    assert "Dry run: 2 idempotency records older than 1d" in output and "Nothing was deleted." in output
    assert remaining_keys() == {"key-0", "key-1", "key-2"}


def test_each_delete_takes_one_batch(db):
    user = UserFactory()
    records_aged(user, *[25 + index for index in range(5)], 2)
    with CaptureQueriesContext(connection) as queries:
        output = json.loads(purge("--batch-size", "2", "--json"))
    deletes = [query["sql"] for query in queries if query["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 2 + 2 + 1 rows
    assert output["records"] == 5 and output["batches"] == 3 and output["dry_run"] is False
    assert remaining_keys() == {"key-5"}


def test_older_than_keeps_what_is_younger_than_it(db):
    user = UserFactory()
    records_aged(user, 30, 50)
    purge("--older-than", "2d")
    assert remaining_keys() == {"key-0"}


@pytest.mark.parametrize("older_than", ["1h", "23h59m"])
def test_older_than_shorter_than_the_lifetime_is_refused_and_deletes_nothing(db, older_than):
    user = UserFactory()
    records_aged(user, 2, 30)
    with pytest.raises(CommandError, match="shorter than the records' lifetime"):
        purge("--older-than", older_than)
    assert remaining_keys() == {"key-0", "key-1"}


def test_the_lifetime_is_the_setting(db, settings):
    settings.ORDEROPS_API = {**settings.ORDEROPS_API, "IDEMPOTENCY_TTL": timedelta(hours=2)}
    user = UserFactory()
    records_aged(user, 1, 3)
    purge()
    assert remaining_keys() == {"key-0"}


def test_a_purged_key_is_gone_and_a_kept_one_still_replays(operator):
    order = OrderFactory()
    api = client_for(operator)
    url = f"/api/v1/orders/{order.number}/comments/"
    first = api.post(url, {"body": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="comment-1")
    assert first.status_code == 201
    purge()
    replay = api.post(url, {"body": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="comment-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    purge()
    assert not IdempotencyRecord.objects.exists()
