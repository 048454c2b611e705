"""Settings come from the environment and refuse unsafe combinations."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
LOAD_SETTINGS = (
    "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'orderops.settings'; django.setup();"
    "from django.conf import settings; from django.db import connection;"
    "print(settings.DEBUG, connection.vendor, settings.DATABASES['default'].get('OPTIONS', {}))"
)


def clean_environment() -> dict[str, str]:
    """This process's environment without the variables the settings read."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }


def load_settings(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LOAD_SETTINGS],
        cwd=BASE_DIR,
        env={**clean_environment(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_refuse_to_start_without_secret_key_when_debug_is_off():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_settings_use_a_development_key_only_in_debug():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True sqlite")


def test_default_database_is_sqlite_in_wal_mode_with_a_busy_timeout():
    result = load_settings(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert "journal_mode=WAL" in result.stdout
    assert "'timeout': 20" in result.stdout


def test_database_url_selects_postgresql():
    result = load_settings(SECRET_KEY="x" * 50, DATABASE_URL="postgres://someone@db.invalid:5432/orders")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False postgresql")


@pytest.mark.parametrize("value", ["maybe", "2"])
def test_debug_rejects_values_it_cannot_read(value):
    result = load_settings(DEBUG=value, SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


@pytest.mark.parametrize(
    "command",
    ["makemigrations --check --dry-run", "sqlmigrate orders 0001", "collectstatic --noinput --dry-run"],
)
def test_offline_commands_run_without_a_secret_key(command, tmp_path):
    """Checking the migrations or building the catalogue needs no production key (CI and build steps have
    none): such a command gets a random key for its own process."""
    result = subprocess.run(
        [sys.executable, "manage.py", *command.split()],
        cwd=BASE_DIR,
        env={**clean_environment(), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY is not set" not in result.stderr


def test_a_serving_command_still_needs_the_secret_key():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
