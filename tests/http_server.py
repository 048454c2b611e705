"""The console over real HTTP in tests: a gunicorn server on 127.0.0.1 against the test database, and a
cookie-keeping HTTP browser (session, CSRF token, messages)."""

import html
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent

# --- a gunicorn server against the test database ------------------------------------------------------------


def test_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's test database)."""
    db = settings.DATABASES["default"]
    auth = urllib.parse.quote(db["USER"] or "")
    if db.get("PASSWORD"):
        auth += ":" + urllib.parse.quote(db["PASSWORD"])
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # not a test, whatever its name says


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextmanager
def gunicorn(*, workers: int, log_path: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """gunicorn on a free port of 127.0.0.1 with `workers` sync workers, DEBUG off, on the test database;
    yields once /healthz answers 200, stops the server (SIGTERM, then SIGKILL to its own group) at the end.

    The test settings (tests.settings) are the production settings with a test key, a fast password
    hasher (the users the tests create log in with it) and plain static storage (no collectstatic)."""
    port = free_port()
    server_env = {
        **{key: value for key, value in os.environ.items() if key not in {"CSRF_TRUSTED_ORIGINS", "HTTPS"}},
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": test_database_url(),
        "DEBUG": "0",
        "SECRET_KEY": "orderops-production-tests-only",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "orderops.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_healthy(server, timeout=90)
        yield server
    finally:
        _stop(process)


def _wait_until_healthy(server: Server, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer /healthz within {timeout}s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group gunicorn was started in: its own workers
            process.wait(timeout=10)


# --- a browser: cookies, the CSRF token of the last page, messages ------------------------------------------

MESSAGE_LIST = re.compile(r'<ul class="messagelist">(.*?)</ul>', re.S)
MESSAGE = re.compile(r'<li class="([^"]*)">(.*?)</li>', re.S)
FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the browser below follows redirects itself, to see every status


@dataclass
class Page:
    method: str
    url: str
    status: int
    location: str
    body: str
    seconds: float
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, text)


class Browser:
    """One person's browser over real HTTP: a cookie jar (session, CSRF cookie, messages cookie), the CSRF
    token of the last page it rendered, and a record of every response."""

    def __init__(self, base_url: str, *, timeout: float = 60) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects)
        self.form_token = ""
        self.pages: list[Page] = []

    def request(self, method: str, path: str, fields: list[tuple[str, str]] | None = None) -> Page:
        url = path if path.startswith("http") else self.base_url + path
        data = None
        if method == "POST":
            data = urllib.parse.urlencode(
                [("csrfmiddlewaretoken", self.form_token), *(fields or [])]
            ).encode()
        request = urllib.request.Request(url, data=data, method=method)
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            status, headers, raw = error.code, error.headers, error.read()
        body = raw.decode("utf-8", errors="replace")
        page = Page(method, url, status, headers.get("Location", ""), body, time.monotonic() - started)
        page.messages = page_messages(body)
        token = FORM_TOKEN.search(body)
        if token:
            self.form_token = token.group(1)
        self.pages.append(page)
        return page

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, fields: list[tuple[str, str]] | None = None) -> Page:
        return self.request("POST", path, fields)

    def follow(self, page: Page) -> Page:
        """GET where a redirect points, as a browser does (relative to the page that redirected)."""
        assert page.status in (301, 302, 303), (page.status, page.url, page.body[:500])
        return self.get(urllib.parse.urljoin(page.url, page.location))

    def login(self, username: str, password: str, *, next_path: str = "/admin/") -> Page:
        """The admin's login form: GET it (CSRF cookie and token), POST it, follow to `next_path`."""
        self.get(f"/admin/login/?next={next_path}")
        posted = self.post(
            "/admin/login/", [("username", username), ("password", password), ("next", next_path)]
        )
        assert posted.status == 302, f"login of {username} refused: {posted.status} {posted.body[:300]}"
        page = self.follow(posted)
        while page.status in (301, 302, 303):  # the console's home leads on to the person's queue
            page = self.follow(page)
        return page


def page_messages(body: str) -> list[tuple[str, str]]:
    """The messages the admin shows on a page: (level, text) in order."""
    found = MESSAGE_LIST.search(body)
    if not found:
        return []
    return [(level, html.unescape(text).strip()) for level, text in MESSAGE.findall(found.group(1))]
