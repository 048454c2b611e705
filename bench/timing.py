"""Benchmark processes only (bench.settings): each response says how long Django took to make it, in a
Server-Timing header (`app;dur=<ms>`), so that figure 9 can tell the time spent inside the application
from the time a request waited for a free worker or for the load generator (bench/http_load.py)."""

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ServerTimingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response
