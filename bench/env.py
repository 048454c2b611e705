"""Start Django for a benchmark process: bench.settings (DEBUG off) against the benchmark's database."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orderops_bench"


def django_setup() -> None:
    """Idempotent. DATABASE_URL defaults to the local PostgreSQL's orderops_bench, which the suite owns."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))  # also runnable as `python bench/...`
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL

    import django

    django.setup()
