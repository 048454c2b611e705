# orderops — `make demo` runs the console with demo data; `make test` runs lint, the architecture checks
# (import-linter contracts, mypy) and the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/orderops
PYTEST_ARGS ?=

WORKERS ?= 4
BIND ?= 127.0.0.1:8000
MIGRATE ?= 1
# make serve keeps each worker's database connection open between requests (CONN_MAX_AGE unless set): a sync
# worker serves one request at a time, so that is one connection per worker, and no PostgreSQL backend is
# started per request (half of a short request's time on the benchmark's machine, bench/RESULTS.md).
SERVE_CONN_MAX_AGE := 60

.PHONY: demo demo-reset serve test lint contracts typecheck format bench bench-smoke clean

# Find a Python >= 3.12 that actually runs (pyenv shims exist but fail unless selected): PYTHON if given,
# then python3.13, python3.12, python3, then interpreters installed under pyenv.
$(PY):
	@set -e; found=""; \
	pyenv_root="$${PYENV_ROOT:-$$HOME/.pyenv}"; \
	if command -v pyenv >/dev/null 2>&1; then pyenv_root="$$(pyenv root)"; fi; \
	for candidate in $(PYTHON) python3.13 python3.12 python3 \
	    $$(ls -d "$$pyenv_root"/versions/3.*/bin/python3 2>/dev/null | sort -rV); do \
	  if "$$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    found="$$candidate"; break; \
	  fi; \
	done; \
	if [ -z "$$found" ]; then \
	  echo "orderops needs Python 3.12 or newer, and none was found (tried python3.13, python3.12, python3" \
	       "and $$pyenv_root/versions). Install one, or run: make PYTHON=/path/to/python3.12 ..." >&2; \
	  exit 1; \
	fi; \
	echo "Creating $(VENV) with $$found ($$("$$found" --version))"; \
	"$$found" -m venv $(VENV); \
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet ".[dev]"
	@touch $@ $(VENV)/.installed-runtime

# The demo on SQLite: migrate, seed (users, orders, three connected stores), serve on PORT (default 8000, or
# the next free port when 8000 is taken).
# seed_demo's summary is left out: demo_server prints the URL and the logins last, after the server's lines.
# The demo runs in Sofia's time (TIME_ZONE overrides); each person may choose their own zone in the header.
demo: $(VENV)/.installed-runtime
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo >/dev/null
	DEBUG=1 $(PY) manage.py seed_demo_stores >/dev/null
	DEBUG=1 TIME_ZONE="$${TIME_ZONE:-Europe/Sofia}" exec $(PY) manage.py demo_server $(if $(PORT),--port $(PORT))

# Back to the demo data as seeded: a new SQLite file, migrated and seeded. Only the demo's own file.
demo-reset: $(VENV)/.installed-runtime
	@if [ -n "$$DATABASE_URL" ]; then \
	  echo "make demo-reset replaces the demo's SQLite file (db.sqlite3), and DATABASE_URL is set:" \
	       "unset it to reset the demo; another database is not reset from here." >&2; exit 1; \
	fi
	rm -f db.sqlite3 db.sqlite3-wal db.sqlite3-shm
	DEBUG=1 $(PY) manage.py migrate --noinput --verbosity 0
	DEBUG=1 $(PY) manage.py seed_demo >/dev/null
	DEBUG=1 $(PY) manage.py seed_demo_stores >/dev/null
	@echo "The demo data is back as it was seeded. Start the console with make demo (stop and start it again" \
	      "if it is running)."

# Production: gunicorn with several workers against DATABASE_URL, static files by WhiteNoise, DEBUG off.
# Needs SECRET_KEY, DATABASE_URL and ALLOWED_HOSTS in the environment (README "Production").
serve: $(VENV)/.installed-runtime
	@if [ -z "$$SECRET_KEY" ] || [ -z "$$DATABASE_URL" ]; then \
	  echo "make serve needs SECRET_KEY and DATABASE_URL in the environment (see README, Production)." >&2; exit 1; \
	fi
	DEBUG=0 $(PY) manage.py check --deploy --fail-level ERROR
	@if [ "$(MIGRATE)" = "1" ]; then DEBUG=0 $(PY) manage.py migrate --noinput; fi
	DEBUG=0 $(PY) manage.py collectstatic --noinput --verbosity 0
	DEBUG=0 CONN_MAX_AGE="$${CONN_MAX_AGE:-$(SERVE_CONN_MAX_AGE)}" exec $(PY) -m gunicorn orderops.wsgi:application \
	  --workers $(WORKERS) --bind $(BIND) \
	  --access-logfile - --error-logfile - --forwarded-allow-ips "$${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
	  --graceful-timeout 30 --timeout 60

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The layering of DESIGN.md ("Architecture"): import-linter's contracts in pyproject.toml [tool.importlinter].
contracts: $(VENV)/.installed-dev
	$(VENV)/bin/lint-imports

# mypy with django-stubs over orderops, orders, operators, console (pyproject.toml [tool.mypy]); the plugin sets Django
# up with tests.settings, so the apps must import cleanly.
typecheck: $(VENV)/.installed-dev
	DATABASE_URL= $(PY) -m mypy

format: $(VENV)/.installed-dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

# The suite runs on SQLite, then again on PostgreSQL when one answers at TEST_DATABASE_URL, then the race
# tests (marked `pgbouncer`) a third time through a PgBouncer in transaction pooling that the tests start
# (tests/pgbouncer.py; Debian's pgbouncer package). With CI=true an unreachable PostgreSQL fails the run, and
# so does any skipped `postgres` test (see tests/conftest.py).
test: lint contracts typecheck
	DATABASE_URL= $(PY) -m pytest $(PYTEST_ARGS)
	@if $(PY) -m tests.postgres_check "$(TEST_DATABASE_URL)"; then \
	  echo "PostgreSQL pass: $(TEST_DATABASE_URL)"; \
	  DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest $(PYTEST_ARGS) && \
	  echo "PgBouncer pass (transaction pooling): the race tests" && \
	  DATABASE_URL="$(TEST_DATABASE_URL)" $(PY) -m pytest --pgbouncer -m pgbouncer $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "CI=true and PostgreSQL is not reachable at $(TEST_DATABASE_URL): failing." >&2; exit 1; \
	else \
	  echo "PostgreSQL not reachable at $(TEST_DATABASE_URL): the PostgreSQL pass was skipped."; \
	fi

# The benchmark suite (bench/README.md): full size needs PostgreSQL (BENCH_ARGS="--only list,page" etc.).
bench: $(VENV)/.installed-dev
	$(PY) -m bench $(BENCH_ARGS)

bench-smoke: $(VENV)/.installed-dev
	$(PY) -m bench --smoke

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .mypy_cache .import_linter_cache
