"""Role fixtures, and the rules for PostgreSQL-only tests (skipped on SQLite, never skipped in CI)."""

import os

import pytest
from django.db import connection

from operators.services import roles_setup
from tests.factories import OperatorFactory, SupervisorFactory, UserFactory

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
