"""Role fixtures, the rules for PostgreSQL-only tests (skipped on SQLite, never skipped in CI), and the
PgBouncer pass (`--pgbouncer`: every connection through a transaction pooler the tests start)."""

import importlib
import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.utils import translation

from operators.services import roles_setup
from orders.models import OrderStatus
from tests.factories import OperatorFactory, SupervisorFactory, UserFactory
from tests.pgbouncer import pgbouncer_missing, pgbouncer_start

DEFAULT_STATUSES = importlib.import_module("orders.migrations.0002_default_statuses").DEFAULT_STATUSES

_skipped_postgres_tests: list[str] = []
_through_pgbouncer = False


def _on_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--pgbouncer",
        action="store_true",
        help="PostgreSQL only: run every connection through a PgBouncer in transaction pooling that the tests"
        " start (tests/pgbouncer.py); make test runs the tests marked pgbouncer so",
    )


def pytest_collection_modifyitems(config, items) -> None:
    if not config.getoption("pgbouncer"):
        skip = pytest.mark.skip(reason="runs only through PgBouncer: pytest --pgbouncer (make test does)")
        for item in items:
            if "pgbouncer_only" in item.keywords:
                item.add_marker(skip)
    if _on_postgres():
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: run with DATABASE_URL=postgres://... (make test does when one answers)"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config) -> None:
    global _through_pgbouncer
    _through_pgbouncer = config.getoption("pgbouncer")


def pytest_runtest_logreport(report) -> None:
    # The PgBouncer-only tests are skipped in the plain passes by design; in the PgBouncer pass, none may be.
    keywords = report.keywords
    counted = "pgbouncer" in keywords if _through_pgbouncer else "pgbouncer_only" not in keywords
    if report.skipped and "postgres" in report.keywords and counted:
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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, request):
    """With --pgbouncer, once the test database exists: every connection (each thread's too) goes through a
    PgBouncer in transaction pooling started for this run; it stops before the database is dropped."""
    if not request.config.getoption("pgbouncer"):
        yield
        return
    if not _on_postgres():
        raise pytest.UsageError("--pgbouncer needs PostgreSQL: set DATABASE_URL=postgres://...")
    if why := pgbouncer_missing():
        raise pytest.UsageError(f"--pgbouncer: {why}")
    settings = connection.settings_dict  # the dict every thread's new connection is made from
    server = (settings["HOST"], settings["PORT"])
    bouncer = pgbouncer_start(
        server_host=settings["HOST"] or "127.0.0.1",
        server_port=int(settings["PORT"] or 5432),
        user=settings["USER"],
        password=settings["PASSWORD"] or "",
    )
    connections.close_all()
    settings["HOST"], settings["PORT"] = bouncer.host, bouncer.port
    try:
        yield
    finally:
        connections.close_all()
        settings["HOST"], settings["PORT"] = server
        bouncer.stop()


@pytest.fixture
def through_pgbouncer(request) -> bool:
    """Whether this run's connections go through PgBouncer (--pgbouncer)."""
    return bool(request.config.getoption("pgbouncer"))


@pytest.fixture(autouse=True)
def cache_cleared():
    """Each test starts with an empty cache: an answer a page caches for a minute (the console's "several
    stores" check) must not outlive the test that made it and expire in the middle of another, whose
    pinned query count would then count its refresh."""
    cache.clear()


@pytest.fixture(autouse=True)
def language_reset():
    """Each test starts in the site's language: a request in Bulgarian (Accept-Language, a person's
    preference) leaves its language active in the thread, as LocaleMiddleware does between requests, and a
    later test that reads a message without a request would read it in Bulgarian."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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
