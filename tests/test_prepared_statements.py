"""orderops.db.prepared_statement: a statement planned once per server connection, prepared by the message
that runs it where that connection lacks it (safe behind a transaction pooler), and claim next through it."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from operators.services import order_claim_next
from orderops.db import _prepared, prepared_statement
from orders.results import Code
from tests.factories import OrderFactory


def test_the_statement_is_written_with_numbered_parameters_nulls_and_quotes_escaped():
    sql = "SELECT %s, 'it''s', %s LIKE '50%%', %s FROM t WHERE a = %s"
    run, arguments = prepared_statement(sql, [7, "x", None, [1, 2]], fingerprint="v1")
    name, prepare = _prepared(sql, (False, False, True, False), ("bigint", "text", "bigint[]"), "v1")
    assert arguments == [7, "x", [1, 2]]
    assert prepare == (
        f"PREPARE {name}(bigint, text, bigint[]) AS"
        " SELECT $1, ''it''''s'', $2 LIKE ''50%%'', NULL FROM t WHERE a = $3"
    )
    assert run.endswith(f"EXECUTE {name}(%s, %s, %s)")
    assert f"WHERE name = '{name}'" in run
    assert not run.startswith("SET LOCAL")
    # Another fingerprint (the columns' types after a migration), another NULL or another type: another name.
    assert prepared_statement(sql, [7, "x", None, [1, 2]], fingerprint="v2")[0] != run
    assert prepared_statement(sql, [7, "x", 3, [1, 2]], fingerprint="v1")[0] != run
    assert prepared_statement(sql, [7, 8, None, [1, 2]], fingerprint="v1")[0] != run
    assert prepared_statement(sql, [7, "x", None, [1, 2]], generic=True)[0].startswith(
        "SET LOCAL plan_cache_mode TO force_generic_plan; DO "
    )
    with pytest.raises(ValueError, match="4 placeholders for 3 parameters"):
        prepared_statement(sql, [1, 2, 3])


def deallocate_all() -> None:
    """What a server connection that never ran them has: no prepared statement (other tests' claims on this
    connection prepared theirs)."""
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")


def prepared_here() -> dict[str, tuple[int, int]]:
    """{name: (generic plans, custom plans)} of the statements prepared on this server connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        return {name: (generic, custom) for name, generic, custom in cursor.fetchall()}


@pytest.mark.postgres
def test_a_prepared_statement_answers_and_is_prepared_again_where_it_is_missing(db):
    sql = "SELECT %s::bigint + %s, %s::text || '%%', %s::timestamptz"
    at = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
    for _ in range(2):
        deallocate_all()
        for _ in range(3):
            run, arguments = prepared_statement(sql, [40, 2, "50", at])
            with connection.cursor() as cursor:
                cursor.execute(run, arguments)
                assert cursor.fetchone() == (42, "50%", at)
        name = re.search(r"EXECUTE (orderops_\w+)\(", run)
        assert name and set(prepared_here()) == {name.group(1)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_claim_next_runs_its_prepared_generic_plan(operator):
    OrderFactory.create_batch(4, status_id="pending")
    deallocate_all()
    with transaction.atomic():
        results = [order_claim_next(actor=operator) for _ in range(3)]
        assert [result.outcome for result in results] == [Code.DONE] * 3
        plans = [plans for name, plans in prepared_here().items() if name.startswith("orderops_")]
    assert len({result.order.pk for result in results}) == 3
    # One statement, planned once for any values, run three times; never planned for the values again.
    assert len(plans) == 1 and plans[0][1] == 0 and plans[0][0] >= 3, plans
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")  # SET LOCAL: gone with the claim's transaction
        assert cursor.fetchone()[0] == "auto"
