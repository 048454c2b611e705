"""A PgBouncer in transaction pooling that the tests start themselves, in front of the test database.

`pytest --pgbouncer` (make test's PgBouncer pass) runs the tests marked `pgbouncer` (the PostgreSQL race
tests) with every Django connection going through it: consecutive transactions of one client may then run on
different server connections, as behind a production pooler, so that state left on a server connection
(`SET`, a `WITH HOLD` cursor, a session advisory lock) shows as a failure. Debian's package:
/usr/sbin/pgbouncer.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PGBOUNCER = "/usr/sbin/pgbouncer"
# Above the most threads a race test runs at once, so that no test waits for a server connection; few enough
# that consecutive transactions of one client do move between server connections.
POOL_SIZE = 20
START_TIMEOUT = 10.0


@dataclass
class PgBouncer:
    host: str
    port: int
    process: subprocess.Popen
    directory: Path

    def stop(self) -> None:
        """Stop it and close its server connections (the test database can then be dropped)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log(self) -> str:
        path = self.directory / "stderr.txt"
        return path.read_text() if path.exists() else ""


def pgbouncer_missing() -> str:
    """Why no PgBouncer can be started here ("" when one can)."""
    if not Path(PGBOUNCER).exists():
        return f"{PGBOUNCER} is not installed (Debian: apt-get install pgbouncer; .ci/run does)"
    return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pgbouncer_start(*, server_host: str, server_port: int, user: str, password: str = "") -> PgBouncer:
    """A PgBouncer in transaction mode on a free port of 127.0.0.1, passing any database name through to the
    server at `server_host:server_port` as `user`. Returns once it accepts connections."""
    directory = Path(tempfile.mkdtemp(prefix="orderops-pgbouncer-"))
    port = _free_port()
    (directory / "users.txt").write_text(f'"{user}" "{password}"\n')
    (directory / "pgbouncer.ini").write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={server_host} port={server_port} user={user}"
                + (f" password={password}" if password else ""),
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                f"unix_socket_dir = {directory}",
                "auth_type = trust",
                f"auth_file = {directory / 'users.txt'}",
                "pool_mode = transaction",
                f"default_pool_size = {POOL_SIZE}",
                "max_client_conn = 500",
                "ignore_startup_parameters = extra_float_digits,options",
                "log_connections = 0",
                "log_disconnections = 0",
                f"pidfile = {directory / 'pgbouncer.pid'}",
                "",
            ]
        )
    )
    command = [PGBOUNCER, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root (CI's containers are root): it switches to an unprivileged user,
        # which must be able to write its log and pid file.
        account = pwd.getpwnam("nobody")
        for path in [directory, *directory.iterdir()]:
            os.chown(path, account.pw_uid, account.pw_gid)
        command += ["--user", account.pw_name]
    # Its output goes to a file, never to a pipe: PgBouncer writes every log line to stderr too, and a pipe
    # nobody reads fills up and stops it mid-run.
    with open(directory / "stderr.txt", "wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    bouncer = PgBouncer("127.0.0.1", port, process, directory)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = bouncer.log()
            bouncer.stop()
            raise RuntimeError(f"pgbouncer exited at start ({process.returncode}): {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return bouncer
        except OSError:
            time.sleep(0.05)
    bouncer.stop()
    raise RuntimeError(f"pgbouncer did not accept connections on port {port} within {START_TIMEOUT} s")
