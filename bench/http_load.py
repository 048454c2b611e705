"""Figure 9: load through HTTP. Simulated operators work the console through gunicorn (4 workers, the
production server of `make serve`) against the benchmark's database for a fixed time, with think time;
afterwards the holds, the log, the free orders and the held counts are checked.

The load generator is a small driver of this module, not Locust: one thread per simulated person, each with
its own cookies and an `http.client` connection (the standard library, nothing to install, and light: the
generator shares the machine's two cores with gunicorn and PostgreSQL, and Locust's gevent runtime costs
more CPU per request than a blocked thread). Each operator logs in (before the timed window: the password
hasher is slow on purpose), then loops: opens a queue (the free pending orders) and its counts, opens an
order, takes it, comments, changes its status, releases it, and claims the next order and releases that,
thinking between clicks as a person does. Every response is timed by kind of request; a status other than
the expected one, or a failed connection, is an error.

Further windows add open order-page tabs (100, then 300): each makes what console/static/console/live.js
makes, one live:sync per interval (the heartbeat, the page's changes and the bell every time, the queue counts
every other time), so that the figure says what open tabs add. `--http-seconds` shortens the whole run (a
reduced run on a busy machine; its figures are not the full run's).
"""

import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.db.models import Count

from bench import data
from bench.common import Goal, Report, Result, Sizes, judged, ms
from bench.data import Dataset
from bench.env import REPO
from operators.models import Assignment, AssignmentLog
from operators.services import roles_setup
from operators.verification import (
    activity_count_differences,
    assignment_log_verify,
    free_order_differences,
    hold_count_differences,
)
from orderops.conf import OPERATORS_GROUP
from orders.models import Order

HOST = "127.0.0.1"
PASSWORD = "bench-http-password"
P95_GOAL = 0.150  # seconds, every kind of request
LIST = "/admin/orders/order/"
QUEUE = LIST + "?" + urlencode({"held": "open", "status__code__exact": "pending"})
ORDER_LINK = re.compile(rb'href="/admin/orders/order/(\d+)/change/')
ORDER_PATH = re.compile(r"^/admin/orders/order/(\d+)/change/")


@dataclass(frozen=True)
class LoadSizes:
    operators: int
    seconds: float
    think: tuple[float, float]  # seconds between two clicks, uniform
    workers: int
    tabs: tuple[int, ...]  # open tabs of each window after the operators' own, in turn
    tab_seconds: float  # the length of each of those windows
    live_interval: float | None = None  # seconds between a tab's requests; None: the console's (live:sync)


# Think time: an operator reads the order, calls or writes to the customer between clicks; 3-10 s between two
# clicks is brisk work. (At 1-4 s, 50 operators alone keep both cores busy: see bench/RESULTS.md.)
FULL = LoadSizes(operators=50, seconds=180, think=(3.0, 10.0), workers=4, tabs=(100, 300), tab_seconds=60)
LOGINS_AT_ONCE = 2  # the password hasher takes about a second of CPU per login: two at a time, one per core
SMOKE = LoadSizes(
    operators=3, seconds=6, think=(0.02, 0.1), workers=2, tabs=(2, 4), tab_seconds=2, live_interval=0.3
)


class Recorder:
    """Response times by kind of request, and the errors; shared by every simulated person."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # (when it ended, seconds, of which inside Django: the response's Server-Timing, bench/timing.py)
        self.samples: dict[str, list[tuple[float, float, float | None]]] = defaultdict(list)
        self.errors: list[str] = []
        self.refused: dict[str, int] = defaultdict(int)
        self.logins: list[float] = []  # seconds per login (before the timed window)
        self.recording = False

    def add(self, kind: str, seconds: float, server: float | None = None) -> None:
        if self.recording:
            with self.lock:
                self.samples[kind].append((time.monotonic(), seconds, server))

    def seconds(self, start: float, end: float, *, server: bool = False) -> dict[str, list[float]]:
        """Response times by kind, of the requests that ended within [start, end); with `server`, the part
        of each spent inside Django (where the response said)."""
        with self.lock:
            windowed = {
                kind: [
                    value
                    for when, seconds, inside in samples
                    if start <= when < end and (value := inside if server else seconds) is not None
                ]
                for kind, samples in self.samples.items()
            }
        return {kind: values for kind, values in windowed.items() if values}

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)

    def refusal(self, kind: str) -> None:
        if self.recording:
            with self.lock:
                self.refused[kind] += 1


SERVER_TIMING = re.compile(r"\bapp;dur=([0-9.]+)")


def server_seconds(response: http.client.HTTPResponse) -> float | None:
    """The time Django took to make `response`, from its Server-Timing header (bench/timing.py)."""
    found = SERVER_TIMING.search(response.headers.get("Server-Timing", ""))
    return float(found.group(1)) / 1000 if found else None


class Browser:
    """One person's browser: their cookies (session, CSRF) and a connection to gunicorn (its sync workers
    close each connection after the response; http.client opens the next one)."""

    def __init__(self, port: int, recorder: Recorder) -> None:
        self.port = port
        self.recorder = recorder
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection(HOST, port, timeout=60)

    def request(
        self, kind: str, method: str, path: str, form: dict | None = None, *, expect: int | tuple = 200
    ) -> tuple[int, str, bytes]:
        """(status, Location, body); timed under `kind`. An unexpected status is an error."""
        headers = {"Host": f"{HOST}:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if method == "POST":
            token = self.cookies.get("csrftoken", "")
            body = urlencode({**(form or {}), "csrfmiddlewaretoken": token})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = token
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.connection.close()
            self.recorder.error(f"{kind}: {method} {path}: {error!r}")
            return 0, "", b""
        self.recorder.add(kind, time.perf_counter() - started, server_seconds(response))
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        if response.status not in (expect if isinstance(expect, tuple) else (expect,)):
            self.recorder.error(f"{kind}: {method} {path} answered {response.status} (expected {expect})")
        return response.status, response.headers.get("Location", ""), content

    def post_and_follow(self, kind: str, path: str, form: dict | None = None) -> str:
        """A button: the POST (302), then the page it leads to, as a browser follows it; its Location."""
        status, location, _body = self.request(kind, "POST", path, form, expect=302)
        if status == 302 and location:
            target = urlsplit(location)
            page = target.path + (f"?{target.query}" if target.query else "")
            self.request("order page" if ORDER_PATH.match(target.path) else "queue", "GET", page)
        return location

    def log_in(self, username: str) -> bool:
        self.request("login", "GET", "/admin/login/")
        status, _location, _body = self.request(
            "login",
            "POST",
            "/admin/login/",
            {"username": username, "password": PASSWORD, "next": "/admin/"},
            expect=302,
        )
        return status == 302 and "sessionid" in self.cookies


def operator_work(browser: Browser, rng: random.Random, think: tuple[float, float], until: float) -> None:
    """One operator's loop until `until` (time.monotonic()): queue, counts, an order taken, commented,
    set to processing and released; then claim next and release that one."""

    def pause() -> bool:
        time.sleep(rng.uniform(*think))
        return time.monotonic() < until

    while time.monotonic() < until:
        _status, _location, page = browser.request("queue", "GET", QUEUE)
        browser.request("queue counts", "GET", LIST + "queues/")
        ids = [int(value) for value in ORDER_LINK.findall(page)]
        if ids and pause():
            order = LIST + f"{rng.choice(ids)}/"
            browser.request("order page", "GET", order + "change/")
            if not pause():
                break
            browser.post_and_follow("take", order + "assign/")
            if not pause():
                break
            if "#update-form" in browser.post_and_follow("comment", order + "update/", {"body": "Called."}):
                browser.recorder.refusal("comment")
            if not pause():
                break
            if "#update-form" in browser.post_and_follow(
                "status change", order + "update/", {"status": "processing"}
            ):
                browser.recorder.refusal("status change")
            if not pause():
                break
            browser.post_and_follow("release", order + "release/")
        if not pause():
            break
        location = browser.post_and_follow("claim next", LIST + "claim-next/")
        claimed = ORDER_PATH.match(urlsplit(location).path)
        if claimed and pause():
            browser.post_and_follow("release", LIST + f"{claimed.group(1)}/release/")
        if not pause():
            break


# --- the server --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """gunicorn serving bench.settings (DEBUG off) on a free local port, started and stopped by this run."""

    def __init__(self, workers: int) -> None:
        self.port = free_port()
        self.log = Path(tempfile.gettempdir()) / f"orderops-bench-gunicorn-{os.getpid()}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "PYTHONPATH": str(REPO),
            # As `make serve` runs it: each worker keeps its connection (CONN_MAX_AGE=60 unless set).
            "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "orderops.wsgi:application",
                "--workers",
                str(workers),
                "--bind",
                f"{HOST}:{self.port}",
                "--error-logfile",
                str(self.log),
                "--log-level",
                "warning",
                "--timeout",
                "120",
            ],
            cwd=REPO,
            env=env,
        )
        self.wait_ready()

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: see {self.log}")
            try:
                probe = http.client.HTTPConnection(HOST, self.port, timeout=5)
                probe.request("GET", "/healthz", headers={"Host": f"{HOST}:{self.port}"})
                if probe.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {seconds:.0f} s: see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def errors(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


# --- the run -----------------------------------------------------------------------------------------------


def people_prepare(dataset: Dataset, count: int) -> list[str]:
    """`count` operators who can log in with PASSWORD: the data set's 20, then bench-http-21 ... as needed
    (Operators, holding nothing at the start). One password hash for all (hashing is slow on purpose)."""
    groups = roles_setup()
    user_model = get_user_model()
    usernames = list(
        user_model.objects.filter(pk__in=dataset.operator_pks)
        .order_by("username")
        .values_list("username", flat=True)
    )[:count]
    for n in range(len(usernames) + 1, count + 1):
        user, _created = user_model.objects.update_or_create(
            username=f"bench-http-{n:02d}",
            defaults={
                "first_name": "Http",
                "last_name": f"Operator {n}",
                "is_staff": True,
                "is_active": True,
            },
        )
        user.groups.set([groups[OPERATORS_GROUP]])
        usernames.append(user.username)
    user_model.objects.filter(username__in=usernames).update(password=make_password(PASSWORD))
    return usernames


@dataclass(frozen=True)
class Tab:
    """One open order page: its order, the version and token it was rendered with, its signed tab id."""

    order_id: int
    version: int
    token: str
    tab: str


def tab_watch(browser: Browser, rng: random.Random, tab: Tab, until: float, interval: float) -> None:
    """One open tab of an order page until `until`, as live.js runs it: one live:sync every `interval`
    seconds (the heartbeat, the page's changes since its token, the bell; the queue counts every other
    time), the token carried from one answer to the next, starting at a random moment of its first
    interval."""
    token = tab.token
    wake = time.monotonic() + rng.uniform(0, interval)
    ticks = 0
    while wake < until:
        time.sleep(max(0.0, wake - time.monotonic()))
        form = {
            "tab": tab.tab,
            "order": tab.order_id,
            "state": "viewing",
            "version": tab.version,
            "token": token,
            "bell": "1",
        }
        if ticks % 2 == 0:
            form["queues"] = "1"
        status, _location, body = browser.request("live sync", "POST", "/admin/live/sync", form)
        if status == 200:
            page = json.loads(body).get("page")
            token = page["token"] if page else token
        ticks += 1
        wake += interval


def tabs_open(sessions: list[tuple[str, dict[str, str]]], count: int) -> list[Tab]:
    """`count` open order pages of free pending orders, on the operators' sessions in turn: each with the
    token its page renders and a tab id signed for its person and order, as the page would carry."""
    from console.live_updates import token_of_page
    from console.timeline import order_timeline
    from live.presence import tab_issue

    names = [name for name, _cookies in sessions]
    user_ids = dict(get_user_model().objects.filter(username__in=names).values_list("username", "pk"))
    orders = list(
        Order.objects.filter(free_entry__isnull=False, status_id="pending")
        .order_by("-created_at")
        .values_list("pk", "version")[:count]
    )
    tabs = []
    for n in range(count):
        order_id, version = orders[n % len(orders)]
        user = get_user_model()(pk=user_ids[sessions[n % len(sessions)][0]])
        token = token_of_page(version, order_timeline(order_id))
        tabs.append(Tab(order_id, version, token, tab_issue(user=user, order_id=order_id)))
    return tabs


@dataclass
class Window:
    start: float
    end: float


def people_run(port: int, usernames: list[str], load: LoadSizes, recorder: Recorder) -> dict[str, Window]:
    """Log everyone in (before the timed window), then let the operators work for load.seconds; during the
    last len(load.tabs) * load.tab_seconds of it, load.tabs[0] open tabs, then load.tabs[1], ... (on the
    sessions of the operators, in turn) sync. Threads: one per operator and one per tab. Returns the windows:
    "operators" (the operators alone) and one per tab count, in time.monotonic() seconds."""
    ready = threading.Barrier(len(usernames) + 1)
    go = threading.Event()  # the timed window's end is known
    until: dict[str, float] = {}
    sessions: list[tuple[str, dict[str, str]]] = []
    logins = threading.Semaphore(LOGINS_AT_ONCE)

    def person(n: int, username: str) -> None:
        rng = random.Random(n)
        browser = Browser(port, recorder)
        with logins:
            started = time.perf_counter()
            logged_in = browser.log_in(username)
            recorder.logins.append(time.perf_counter() - started)
        if logged_in:
            sessions.append((username, dict(browser.cookies)))
        else:
            recorder.error(f"login of {username} failed")
        ready.wait()
        go.wait()
        if logged_in:
            time.sleep(rng.uniform(0, load.think[1]))  # not all at once
            operator_work(browser, rng, load.think, until["operators"])

    threads = [
        threading.Thread(target=person, args=(n, name), daemon=True) for n, name in enumerate(usernames)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    # Before the operators start: the tabs' pages as rendered, before anyone changed them.
    tab_runs = {count: tabs_open(sessions, count) for count in load.tabs} if sessions else {}
    interval = load.live_interval or _sync_interval()
    connection.close()
    started = time.monotonic()
    until["operators"] = started + load.seconds
    tabs_from = until["operators"] - len(tab_runs) * load.tab_seconds
    windows = {"operators": Window(started, tabs_from)}
    recorder.recording = True
    go.set()
    for n, (count, tabs) in enumerate(tab_runs.items()):
        window = Window(tabs_from + n * load.tab_seconds, tabs_from + (n + 1) * load.tab_seconds)
        time.sleep(max(0.0, window.start - time.monotonic()))
        windows[f"{count} tabs"] = window
        for number, tab in enumerate(tabs):
            browser = Browser(port, recorder)
            browser.cookies = dict(sessions[number % len(sessions)][1])
            thread = threading.Thread(
                target=tab_watch,
                args=(browser, random.Random(10_000 * (n + 1) + number), tab, window.end, interval),
                daemon=True,
            )
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join(max(0.0, until["operators"] - time.monotonic()) + 120)
    recorder.recording = False
    return windows


def _sync_interval() -> float:
    from console.live_views import sync_interval

    return sync_interval()


def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def state_checks(report: Report, log_before: int) -> None:
    """After the load: one holder per order (the database's constraint); the log of every order the load
    changed replays to its hold (the figure starts from a reset, where the log agrees; replaying only those
    orders keeps the check to seconds at 1,000,000 orders); the free orders and the counters agree with
    the holds and the log."""
    double = Assignment.objects.values("order_id").order_by().annotate(n=Count("pk")).filter(n__gt=1).count()
    report.check(double == 0, f"HTTP load: {double} orders with two holds")
    changed = set(AssignmentLog.objects.filter(pk__gt=log_before).values_list("order_id", flat=True))
    verification = assignment_log_verify(order_ids=changed, max_listed=5)
    report.check(
        verification.agrees and len(changed) > 0,
        f"HTTP load: the {len(changed):,} orders it changed: {verification.summary()}",
    )
    markers = free_order_differences(max_listed=5)
    report.check(not markers, f"HTTP load: {len(markers)} orders whose free row disagrees with the holds")
    counts = hold_count_differences()
    report.check(not counts, f"HTTP load: {len(counts)} operators whose held count disagrees with the holds")
    activity = activity_count_differences()
    report.check(not activity, f"HTTP load: {len(activity)} activity counts that disagree with the log")


def results_add(
    report: Report, recorder: Recorder, window: Window, label: str, smoke: bool, *, last: bool
) -> dict:
    """A row per kind of request that ended in `window` (the last window: and the responses to its last
    clicks, after it); returns {kind: requests per second}."""
    seconds = window.end - window.start
    end = window.end + (120 if last else 0)
    by_kind = recorder.seconds(window.start, end)
    inside = recorder.seconds(window.start, end, server=True)
    rates = {}
    for kind in sorted(by_kind):
        values = by_kind[kind]
        rates[kind] = len(values) / seconds
        high = quantile(values, 95)
        refused = recorder.refused.get(kind, 0)
        report.results.append(
            Result(
                "9",
                f"HTTP, {label}: {kind}",
                ms(statistics.median(values)),
                ms(high),
                "-",
                f"p99 {ms(quantile(values, 99))}; {len(values):,} requests, {rates[kind]:.1f}/s"
                + (
                    f"; inside Django: median {ms(statistics.median(inside[kind]))},"
                    f" p95 {ms(quantile(inside[kind], 95))}"
                    if kind in inside
                    else ""
                )
                + (f"; {refused} refused by the rules (not errors)" if refused else ""),
                "-",
                [Goal(f"p95 ≤ {P95_GOAL * 1000:.0f} ms", judged(high <= P95_GOAL, smoke), ms(high))],
            )
        )
    total = sum(rates.values())
    report.notes.append(
        f"HTTP, {label}: {sum(len(values) for values in by_kind.values()):,} requests in {seconds:.0f} s,"
        f" {total:.1f} requests/s; load average at the end {load_average()}"
    )
    return rates


def load_average() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def live_queries(report: Report, usernames: list[str]) -> None:
    """Statements per live:sync, counted in process (django.test.Client) as the other figures do."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from live.presence import tab_issue

    pending = Order.objects.filter(status_id="pending").values_list("pk", "version").first()
    if pending is None:
        raise RuntimeError("no pending order to poll")
    order_id, version = pending
    user = get_user_model().objects.get(username=usernames[0])
    client = Client()
    client.force_login(user)
    tab = tab_issue(user=user, order_id=order_id)
    tick = {"tab": tab, "order": order_id, "version": version, "bell": "1"}
    counted = []

    def count(what: str, call: Callable) -> Any:
        with CaptureQueriesContext(connection) as captured:
            response = call()
        counted.append(f"{what} {len(captured.captured_queries)} ({response.status_code})")
        return response

    first = count("first sync (page moved)", lambda: client.post("/admin/live/sync", {**tick, "token": ""}))
    token = (json.loads(first.content).get("page") or {}).get("token", "")
    count("sync, nothing moved", lambda: client.post("/admin/live/sync", {**tick, "token": token}))
    count(
        "sync, nothing moved, with the queue counts",
        lambda: client.post("/admin/live/sync", {**tick, "token": token, "queues": "1"}),
    )
    report.notes.append("HTTP, open tabs: statements per request (in process, status): " + ", ".join(counted))


def live_tab_cost(report: Report, usernames: list[str], rounds: int) -> None:
    """What one open order page's 65 s of live requests cost the server, in process (django.test.Client,
    this process's connection), as the four timers made them before live:sync (4 polls, 4 heartbeats, 5 bell
    counts, 3 queue counts: the old live.js, bell.js and console.js) and as live:sync makes them (5 requests,
    the queue counts on 3): requests, statements, and the median of `rounds` interleaved rounds' time."""
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from live.presence import tab_issue

    pending = Order.objects.filter(status_id="pending").values_list("pk", "version").first()
    if pending is None:
        raise RuntimeError("no pending order to open")
    order_id, version = pending
    user = get_user_model().objects.get(username=usernames[0])
    client = Client()
    client.force_login(user)
    tab = tab_issue(user=user, order_id=order_id)
    beat = {"tab": tab, "order": order_id, "state": "viewing"}
    page = {"order": order_id, "version": version}
    first = client.post("/admin/live/sync", {**beat, **page, "token": ""})
    token = (json.loads(first.content).get("page") or {}).get("token", "")

    def before() -> int:
        for n in range(5):
            if n:
                client.get("/admin/live/poll", {**page, "token": token})
            if n < 4:
                client.post("/admin/live/heartbeat", beat)
            client.get("/admin/live/notifications/unread")
            if n in (0, 2, 4):
                client.get(LIST + "queues/")
        return 16

    def after() -> int:
        for n in range(5):
            tick = {**beat, **page, "token": token, "bell": "1"}
            client.post("/admin/live/sync", {**tick, "queues": "1"} if n in (0, 2, 4) else tick)
        return 5

    timed: dict[str, list[float]] = {"before": [], "after": []}
    statements: dict[str, int] = {}
    requests: dict[str, int] = {}
    for _round in range(rounds):
        for name, run in (("before", before), ("after", after)):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                requests[name] = run()
                timed[name].append(time.perf_counter() - started)
            statements[name] = len(captured.captured_queries)
    old, new = statistics.median(timed["before"]), statistics.median(timed["after"])
    report.notes.append(
        f"HTTP, one open order page's 65 s of live requests (in process, median of {rounds} interleaved"
        f" rounds, load {load_average()}): four timers {requests['before']} requests,"
        f" {statements['before']} statements, {ms(old)}; live:sync {requests['after']} requests,"
        f" {statements['after']} statements, {ms(new)} ({new / old:.2f}x)"
    )


def http_load_scaled(load: LoadSizes, seconds: float | None) -> LoadSizes:
    """The run shortened to `seconds` in all (a reduced run): the windows keep their proportions."""
    if not seconds:
        return load
    factor = seconds / load.seconds
    return LoadSizes(
        operators=load.operators,
        seconds=seconds,
        think=load.think,
        workers=load.workers,
        tabs=load.tabs,
        tab_seconds=load.tab_seconds * factor,
        live_interval=load.live_interval,
    )


def measure_http(
    report: Report, sizes: Sizes, dataset: Dataset, smoke: bool, seconds: float | None = None
) -> None:
    load = SMOKE if smoke else http_load_scaled(FULL, seconds)
    # The figures before this one leave log rows of holds they cleaned up (until the next reset): put
    # everything back first, so that the log of every order agrees with its hold before the load.
    data.state_reset()
    usernames = people_prepare(dataset, load.operators)
    log_before = AssignmentLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    connection.close()  # the threads below do not use Django's connection; gunicorn opens its own
    server = Gunicorn(load.workers)
    recorder = Recorder()
    try:
        windows = people_run(server.port, usernames, load, recorder)
    finally:
        server.stop()
    report.check(
        not recorder.errors,
        f"HTTP load: {len(recorder.errors)} errors"
        + (f", first: {recorder.errors[0]}" if recorder.errors else ""),
    )
    people = f"{load.operators} operators (think {load.think[0]:g}-{load.think[1]:g} s)"
    names = list(windows)
    for name, window in windows.items():
        label = people if name == "operators" else f"{people} + {name.replace('tabs', 'open tabs')}"
        rates = results_add(report, recorder, window, label, smoke, last=name == names[-1])
        if name != "operators":
            report.notes.append(
                f"HTTP, {name}: they add {rates.get('live sync', 0):.1f} requests/s (one live:sync per tab"
                f" per interval: heartbeat, changes, bell, queue counts)"
            )
    if len(names) > 1:
        live_queries(report, usernames)
        live_tab_cost(report, usernames, rounds=3 if smoke else 15)
    from live.models import Presence

    Presence.objects.all().delete()  # the tabs' presence rows (the benchmark owns its database)
    report.notes.append(
        f"HTTP: gunicorn {load.workers} workers (sync), {HOST}, bench.settings (DEBUG off); {len(usernames)}"
        f" logins before the timed window, {LOGINS_AT_ONCE} at a time, median"
        f" {ms(statistics.median(recorder.logins))} each (the login page's GET and POST: the password hasher)"
    )
    server_errors = [line for line in server.errors().splitlines() if "Traceback" in line or "ERROR" in line]
    report.check(not server_errors, f"HTTP load: gunicorn logged {len(server_errors)} errors ({server.log})")
    state_checks(report, log_before)
    data.state_reset()  # put back the holds, log, comments and statuses the operators changed
