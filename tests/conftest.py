"""Role fixtures, and the rules for PostgreSQL-only tests (skipped on SQLite, never skipped in CI)."""

import importlib
import os

import pytest
from django.db import connection

from operators.services import roles_setup
from orders.models import OrderStatus
from tests.factories import OperatorFactory, SupervisorFactory, UserFactory

DEFAULT_STATUSES = importlib.import_module("orders.migrations.0002_default_statuses").DEFAULT_STATUSES

_skipped_postgres_tests: list[str] = []


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items) -> None:
    if _on_postgres():
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (make test does when one answers)"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report) -> None:
    if report.skipped and "postgres" in report.keywords:
        _skipped_postgres_tests.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus) -> None:
    # In CI the PostgreSQL pass must run every race test: a skip there would hide a broken invariant.
    if os.environ.get("CI") == "true" and _on_postgres() and _skipped_postgres_tests:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter:
            reporter.write_line(
                f"CI=true: {len(_skipped_postgres_tests)} postgres test(s) were skipped on PostgreSQL: "
                + ", ".join(_skipped_postgres_tests),
                red=True,
            )
        session.exitstatus = 1


@pytest.fixture(autouse=True)
def default_statuses(request):
    """Transactional tests (races, browser) empty every table when they end, the statuses that a data
    migration created included: put them back for each test that uses the database."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if uses_db:
        request.getfixturevalue("transactional_db" if _transactional(request) else "db")
        for code, label, position, releases in DEFAULT_STATUSES:
            OrderStatus.objects.get_or_create(
                code=code, defaults={"label": label, "position": position, "releases_assignment": releases}
            )


def _transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture
def roles(db):
    return roles_setup()


@pytest.fixture
def operator(roles):
    return OperatorFactory(username="anna", first_name="Anna")


@pytest.fixture
def other_operator(roles):
    return OperatorFactory(username="ivan", first_name="Ivan")


@pytest.fixture
def supervisor(roles):
    return SupervisorFactory(username="boss", first_name="Boris")


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_without_role(db):
    return UserFactory(username="nobody", is_staff=True)


@pytest.fixture
def inactive_operator(roles):
    return OperatorFactory(username="gone", is_active=False)
