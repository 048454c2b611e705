"""Serve the demo on a free port, and say where and how to log in last, after the server's own lines."""

import errno
import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from operators.management.commands.seed_demo import BULGARIAN_OPERATOR, DEMO_PASSWORD_NOTE, DEMO_USERS
from orders.models import Order

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# How far past the default port to look for a free one.
PORTS_TRIED = 100
# How long the development server may take to start listening before the logins are printed anyway.
START_TIMEOUT_SECONDS = 60.0


def port_is_free(port: int) -> bool:
    """Whether the development server could listen on `port` (as it binds: with SO_REUSEADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port_from(first: int) -> int | None:
    return next((port for port in range(first, first + PORTS_TRIED) if port_is_free(port)), None)


def is_listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run the development server for the demo on a free port; print the URL and the logins last."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--port", type=int, default=None, help=f"The port (default {DEFAULT_PORT}, or the next free one)."
        )

    def handle(self, *args, **options) -> None:
        port = self.choose_port(options["port"])
        command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "runserver", f"{HOST}:{port}"]
        # Unbuffered, so that the server's start-up lines come before the logins even through a pipe.
        server = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        # Stopped from outside (kill, a process manager): the server stops too, instead of lingering.
        signal.signal(signal.SIGTERM, lambda signum, frame: server.terminate())
        try:
            if self.wait_until_listening(server, port):
                self.print_logins(port)
            server.wait()
        except KeyboardInterrupt:
            # CONTROL-C reaches the server too (one process group); a stop sent to this command alone is
            # passed on.
            server.send_signal(signal.SIGINT)
            server.wait()
        if server.returncode not in (0, -signal.SIGINT, -signal.SIGTERM):
            raise CommandError(
                _("The development server stopped (exit status %(code)s).") % {"code": server.returncode}
            )

    def choose_port(self, asked: int | None) -> int:
        if asked is not None:
            if not 1 <= asked <= 65535:
                raise CommandError(_("%(port)s is not a port: use 1 to 65535.") % {"port": asked})
            if port_is_free(asked):
                return asked
            suggestion = free_port_from(asked + 1)
            hint = _(" Try: make demo PORT=%(port)s") % {"port": suggestion} if suggestion else ""
            raise CommandError(
                _("Port %(port)s is taken: another program listens there.%(hint)s")
                % {"port": asked, "hint": hint}
            )
        port = free_port_from(DEFAULT_PORT)
        if port is None:
            raise CommandError(
                _("Ports %(first)s to %(last)s are all taken. Choose one: make demo PORT=...")
                % {"first": DEFAULT_PORT, "last": DEFAULT_PORT + PORTS_TRIED - 1}
            )
        if port != DEFAULT_PORT:
            self.stdout.write(
                self.style.WARNING(
                    _("Port %(taken)s is taken (another program listens there): the demo uses %(port)s.")
                    % {"taken": DEFAULT_PORT, "port": port}
                )
            )
        return port

    def wait_until_listening(self, server: subprocess.Popen, port: int) -> bool:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if server.poll() is not None:
                return False
            if is_listening(port):
                return True
            time.sleep(0.2)
        return True

    def print_logins(self, port: int) -> None:
        url = f"http://{HOST}:{port}/admin/"
        write = self.stdout.write
        write("")
        write(self.style.SUCCESS(_("The orderops demo is running: %(url)s") % {"url": url}))
        write(_("%(count)s demo orders. Log in as (username / password):") % {"count": Order.objects.count()})
        for username, _first_name, group_name, password in DEMO_USERS:
            language = " (български, Europe/Sofia)" if username == BULGARIAN_OPERATOR else ""
            write(f"  {username:<6} / {password:<6} {group_name or _('superuser')}{language}")
        write(f"({DEMO_PASSWORD_NOTE})")
        write(_("Stop it with CONTROL-C. `make demo-reset` puts the demo data back as it was."))
