"""Shared by the gate's end-to-end tests: configure the example project's gate, ask the gate, and
run real application processes that register their release."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from click.testing import Result
from integration.pg_flow_support import run_cli

from expandcontract.gate.registry import Registry

T = TypeVar("T")

CONSOLE_SCRIPT = Path(sys.executable).with_name("expandcontract")
PASSWORD = "s3cr3t-pw"

# A stand-in for the shop: registers its release (its models built here), heartbeats every 0.5 s,
# and deregisters from its SIGTERM handler as a graceful shutdown does.
APP_SCRIPT = """\
import signal
import sys

import sqlalchemy as sa

from expandcontract import runtime

url, release, email_column = sys.argv[1:4]
metadata = sa.MetaData()
sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(email_column, sa.String(255)),
    sa.Column("name", sa.String(100)),
)
handle = runtime.register(url, release=release, metadata=metadata, app="shop", heartbeat_seconds=0.5)


def shut_down(signum, frame):
    handle.stop()
    sys.exit(0)


signal.signal(signal.SIGTERM, shut_down)
print("registered" if handle.wait_registered(timeout=30) else "not registered", flush=True)
while True:
    signal.pause()
"""


def shop_1_2_metadata() -> sa.MetaData:
    """Release 1.2.0's users: it writes both columns and still reads users.email."""
    metadata = sa.MetaData()
    sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(255)),
        sa.Column("email_address", sa.String(255)),
        sa.Column("name", sa.String(100)),
    )
    return metadata


def configure(project: Path, gate: dict[str, Any] | None = None, **settings: Any) -> None:
    """Add keys to the project's [tool.expandcontract] (`lock_timeout="off"` -> `lock-timeout`)
    and a [tool.expandcontract.gate] table; values are written as JSON, which TOML reads alike."""
    pyproject = project / "pyproject.toml"
    lines = pyproject.read_text(encoding="utf-8").splitlines()
    at = lines.index("[tool.expandcontract]") + 1
    lines[at:at] = [f"{key.replace('_', '-')} = {json.dumps(value)}" for key, value in settings.items()]
    if gate:
        lines += ["", "[tool.expandcontract.gate]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in gate.items()]
    pyproject.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sqlite_url(project: Path) -> str:
    """The example project's own database (its default `database-url`), as an absolute URL."""
    return f"sqlite:///{project / 'shop.db'}"


def with_password(url: str, password: str = PASSWORD) -> str:
    return sa.engine.make_url(url).set(password=password).render_as_string(hide_password=False)


def closed_port() -> int:
    """A local TCP port nothing listens on (just released by the OS)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def gate_json(*args: str) -> tuple[int, dict[str, Any]]:
    """`expandcontract gate check --json ARGS`: (exit code, parsed report)."""
    result = run_cli("gate", "check", "--json", *args)
    assert result.exit_code in (0, 1, 3), result.output
    return result.exit_code, json.loads(result.stdout)


def verdict(doc: dict[str, Any], revision: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [r for r in doc["revisions"] if r["revision"] == revision]
    (one,) = found
    return one


def listed_processes(doc: dict[str, Any]) -> set[str]:
    """`host:pid` of every process the registry source sees live in a gate report."""
    return {
        match.group(1)
        for source in doc["sources"]
        if source["source"] == "registry"
        for sighting in source["sightings"]
        if (match := re.match(r"process (\S+:\d+) ", sighting["what"]))
    }


def single_error_line(result: Result) -> str:
    """The one line an error leaves on stderr (exit 2, nothing on stdout, no traceback)."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("expandcontract: error: "), line
    return line


def eventually(probe: Callable[[], T | None], timeout: float = 10.0, interval: float = 0.05) -> T:
    """The first truthy result of `probe`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"still {value!r} after {timeout} s")
        time.sleep(interval)


@contextmanager
def connection(url: str, application_name: str | None = None) -> Iterator[sa.Connection]:
    """One open autocommit connection (a session other tools see), closed on exit."""
    args = {"application_name": application_name} if application_name else {}
    engine = sa.create_engine(
        url, connect_args=args, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextmanager
def registry_at(url: str) -> Iterator[Registry]:
    """The gate's registry in the database behind `url`, created if missing."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        registry = Registry(engine)
        registry.ensure()
        yield registry
    finally:
        engine.dispose()


class Outage:
    """A TCP port in front of a database server that is down until `end()`: every connection is
    accepted and dropped at once (counted in `attempts`); afterwards they are passed through."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.attempts = 0
        self._up = threading.Event()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str) -> str:
        """`url` redirected through this port."""
        moved = sa.engine.make_url(url).set(host="127.0.0.1", port=self.port)
        return moved.render_as_string(hide_password=False)

    def end(self) -> None:
        self._up.set()

    def close(self) -> None:
        self.listener.close()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.attempts += 1
            if not self._up.is_set():
                client.close()
                continue
            server = socket.create_connection(self.target)
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


class AppProcess:
    """One running application process (`APP_SCRIPT`)."""

    def __init__(self, popen: subprocess.Popen[str], log: Path) -> None:
        self.popen = popen
        self.log = log

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def name(self) -> str:
        """How the gate names it: host:pid."""
        return f"{socket.gethostname()}:{self.popen.pid}"

    def wait_registered(self, timeout: float = 30.0) -> None:
        assert self.popen.stdout is not None
        ready, _, _ = select.select([self.popen.stdout], [], [], timeout)
        line = self.popen.stdout.readline().strip() if ready else "(nothing)"
        assert line == "registered", f"{line}; its stderr: {self.log.read_text(encoding='utf-8')}"

    def terminate(self) -> int:
        """A graceful shutdown (SIGTERM); its exit code."""
        self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout=15)

    def kill(self) -> None:
        """A crash (SIGKILL): no handler runs, no deregistration."""
        self.popen.kill()
        self.popen.wait(timeout=15)


class AppProcesses:
    """Starts application processes; `close()` kills whatever still runs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.script = folder / "shop_app.py"
        self.script.write_text(APP_SCRIPT, encoding="utf-8")
        self.started: list[AppProcess] = []

    def start(self, url: str, release: str, email_column: str = "email") -> AppProcess:
        """A process of `release` whose models map users.<email_column>, registered."""
        log = self.folder / f"app-{len(self.started)}.stderr"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EXPANDCONTRACT_")}
        with log.open("w", encoding="utf-8") as stderr:
            popen = subprocess.Popen(
                [sys.executable, str(self.script), url, release, email_column],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=env,
            )
        process = AppProcess(popen, log)
        self.started.append(process)
        process.wait_registered()
        return process

    def close(self) -> None:
        for process in self.started:
            if process.popen.poll() is None:
                process.popen.kill()
            process.popen.wait(timeout=15)
            if process.popen.stdout is not None:
                process.popen.stdout.close()
