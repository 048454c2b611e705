"""Production settings: `check --deploy` is clean with the documented environment; /healthz answers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DatabaseError

BASE_DIR = Path(__file__).resolve().parent.parent

# The production environment the README documents (values are examples).
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "k7#Qv9!mZ2@pL5$wR8^tY1&uI4*oP6(aS3)dF0_gH-jK+lZ=xC",
    "ALLOWED_HOSTS": "ops.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://ops.example.com",
    "HTTPS": "1",
    "DATABASE_URL": "postgres://orderops@db.internal:5432/orderops",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    clean.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    # A migrated database of its own, so that every check runs (the ORDEROPS check reads the statuses).
    env = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}"}
    migrated = run_manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr

    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_when_https_is_not_declared(tmp_path):
    env = {**PRODUCTION_ENV, "HTTPS": "0", "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}"}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", "--tag", "security", env=env)
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS


def test_production_logs_are_json_lines_on_stderr_leaving_stdout_to_the_commands():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('orderops.test').warning('hold released', extra={'order': '100042'})"
    )
    env = {**PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "orderops.settings"}
    clean = {key: value for key, value in os.environ.items() if key not in env}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    entry = json.loads(result.stderr.strip().splitlines()[-1])
    assert (entry["level"], entry["logger"], entry["message"], entry["order"]) == (
        "WARNING",
        "orderops.test",
        "hold released",
        "100042",
    )


@pytest.mark.django_db
def test_healthz_says_ok_without_a_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_says_503_when_the_database_is_gone(client, monkeypatch):
    from orderops import health

    class BrokenConnection:
        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}


def test_healthz_refuses_anything_but_get(client):
    assert client.post("/healthz").status_code == 405
