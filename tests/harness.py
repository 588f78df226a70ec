"""A production stack on loopback, for the smoke test and later fault-injection/soak tests.

`ProductionStack` starts what README's "Production" section describes, with production
settings (`LOTTERY_ENV=production`), each as its own OS process group:

- a fresh PostgreSQL database (created with DATABASE_URL's credentials, dropped after),
- one Redis DB index (REDIS_URL's own: emptied before and after, as the suite's cache tests do),
- an SMTP sink (aiosmtpd) on a free loopback port, keeping every message in memory,
- `lottery manage migrate`, `lottery seed-draw-types`, `lottery manage collectstatic`,
- `lottery web` (gunicorn, GUNICORN_WORKERS=2 on a free port), `lottery worker` and
  `lottery beat --schedule <file>`,
- an edge proxy on another free port standing in for the TLS-terminating proxy: it
  forwards to gunicorn and sets `X-Forwarded-Proto: https`. Its address is
  `LOTTERY_BASE_URL`, so links in e-mails and `lottery verify --url` work over it.

Every process writes stdout and stderr to files under the stack's work directory (read
them back with `logs(name)` / `log_lines(name)`); `stop()` ends every process group
(SIGTERM, then SIGKILL after a timeout) and drops the database, and runs even when the
start or the test fails (use the stack as a context manager).

    with ProductionStack.from_environment() as stack:
        stack.http("GET", "/api/v1/draws")
"""

from __future__ import annotations

import atexit
import contextlib
import email
import email.policy
import http.client
import http.server
import json
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")

# Variables the settings, gunicorn and Celery read: never inherited from the caller's
# environment (pytest runs with DJANGO_SETTINGS_MODULE=config.test_settings, CI exports
# DATABASE_URL, …); the stack sets the ones it needs.
_INHERITED_PREFIXES = (
    "LOTTERY_",
    "DJANGO_",
    "GUNICORN_",
    "CELERY_",
    "SECURE_",
    "DATABASE_",
    "EMAIL_",
    "REDIS_",
    "SENTRY_",
    "PROMETHEUS_",
    "COV_CORE_",
    "COVERAGE_",
)
_INHERITED_NAMES = {
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "STATIC_ROOT",
    "DEFAULT_FROM_EMAIL",
    "FORWARDED_ALLOW_IPS",
}


class HarnessError(RuntimeError):
    """The stack could not be started, or a wait ran out of time."""


def wait_for(
    predicate: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.2,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Call `predicate` until it returns something truthy and return that; raise after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise HarnessError(f"timed out after {timeout:.0f} s waiting for {text}")
        time.sleep(interval)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# --- prerequisites ------------------------------------------------------------------------


def smoke_prerequisites(environ: Mapping[str, str] | None = None) -> tuple[str, str] | str:
    """(DATABASE_URL, REDIS_URL) when both point at reachable servers, else why not (a skip reason).

    Under CI=true, set-but-unreachable servers raise instead: CI must not skip silently.
    """
    environ = os.environ if environ is None else environ
    database_url, redis_url = environ.get("DATABASE_URL", ""), environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url:
        return (
            "needs PostgreSQL and Redis: set DATABASE_URL=postgres://… and REDIS_URL=redis://… "
            f"(DATABASE_URL is {'a non-PostgreSQL URL' if database_url else 'unset'}, "
            f"REDIS_URL is {'set' if redis_url else 'unset'})"
        )
    try:
        with _maintenance_connection(database_url) as conn:
            conn.execute("SELECT 1")
        import redis

        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except Exception as exc:
        reason = f"PostgreSQL/Redis not reachable: {type(exc).__name__}: {exc}"
        if environ.get("CI") == "true":
            raise HarnessError(f"CI sets DATABASE_URL and REDIS_URL but {reason}") from exc
        return reason
    return database_url, redis_url


def create_template_database(database_url: str, timeout: float = 300) -> str:
    """A fresh database on DATABASE_URL's server, migrated and with the draw types seeded, for
    ProductionStack(template_database=...) to clone. Its name; drop it with drop_database()."""
    name = f"lottery_template_{os.getpid()}_{secrets.token_hex(3)}"
    with _maintenance_connection(database_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_INHERITED_PREFIXES) and k not in _INHERITED_NAMES
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "DATABASE_URL": _with_path(database_url, f"/{name}"),
        }
    )
    try:
        for args in (["manage", "migrate", "--noinput"], ["seed-draw-types"]):
            result = subprocess.run(
                [*lottery_command(), *args],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if result.returncode != 0:
                output = f"{result.stdout}\n{result.stderr}"
                raise HarnessError(f"`lottery {' '.join(args)}` exited {result.returncode}:\n{output}")
    except BaseException:
        drop_database(database_url, name)
        raise
    return name


def drop_database(database_url: str, name: str) -> None:
    with _maintenance_connection(database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _maintenance_connection(database_url: str) -> Any:
    import psycopg

    url = urlsplit(database_url)
    return psycopg.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname="postgres",
        connect_timeout=5,
        autocommit=True,
    )


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


# --- SMTP sink ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    @property
    def text(self) -> str:
        """The text/plain part (the body, if the message has no parts)."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""


class SmtpSink:
    """An SMTP server on loopback that accepts every message and keeps it (thread-safe)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._messages: list[ReceivedMail] = []
        self._changed = threading.Condition()
        self._controller: Any = None
        # A slow mail server (fault tests): each DATA waits this long before its 250 reply.
        # With record_before_delay the message is kept before the wait, as a server that has
        # durably accepted it but whose reply the client may never read (the crash window).
        self.data_delay = 0.0
        self.record_before_delay = False

    # aiosmtpd calls this in its own thread for every message
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        received = ReceivedMail(
            mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos), message=message, raw=raw
        )
        if self.record_before_delay:
            self._keep(received)
        if self.data_delay > 0:
            import asyncio

            await asyncio.sleep(self.data_delay)
        if not self.record_before_delay:
            self._keep(received)
        return "250 Message accepted for delivery"

    def _keep(self, received: ReceivedMail) -> None:
        with self._changed:
            self._messages.append(received)
            self._changed.notify_all()

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command

        self._controller = Controller(self, hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[ReceivedMail]:
        with self._changed:
            return list(self._messages)

    def wait_for(
        self, predicate: Callable[[ReceivedMail], bool], *, timeout: float, what: str = "an e-mail"
    ) -> ReceivedMail:
        """The first message (received so far or later) that matches `predicate`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self._messages:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [(m.rcpt_tos, m.subject) for m in self._messages]
                    raise HarnessError(f"timed out after {timeout:.0f} s waiting for {what}; got {got}")
                self._changed.wait(left)

    def wait_for_mail(self, *, to: str, subject_contains: str = "", timeout: float = 30) -> ReceivedMail:
        return self.wait_for(
            lambda m: to in m.rcpt_tos and subject_contains in m.subject,
            timeout=timeout,
            what=f"an e-mail to {to} with {subject_contains!r} in the subject",
        )


# --- the edge proxy ----------------------------------------------------------------------------

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


class EdgeProxy:
    """Stands in for the TLS-terminating proxy: forwards to the app and says the client used HTTPS."""

    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1", port: int | None = None) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port or free_port(host)
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        upstream = self.upstream

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["X-Forwarded-Proto"] = "https"
                headers["X-Forwarded-For"] = self.client_address[0]
                conn = http.client.HTTPConnection(*upstream, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    self.send_response_only(response.status, response.reason)
                    for name, value in response.getheaders():
                        if name.lower() not in _HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except OSError:
                    self.send_error(502, "upstream unreachable")
                finally:
                    conn.close()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- processes ----------------------------------------------------------------------------------


def lottery_command() -> list[str]:
    """The `lottery` console script of the running interpreter's environment."""
    script = Path(sys.executable).parent / "lottery"
    return [str(script)] if script.exists() else [sys.executable, "-m", "lottery.cli"]


@dataclass
class ManagedProcess:
    """One long-running process in its own process group, output to two files."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    popen: subprocess.Popen[bytes] | None = None
    killed: bool = False
    ended_on_purpose: bool = False  # a fault test killed or stopped it (see ProductionStack.kill)

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"{self.name}.stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"{self.name}.stderr.log"

    def start(self) -> None:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # its own process group: stop() reaches its children
            )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signum)

    def wait_stopped(self, timeout: float) -> bool:
        """Wait until the leader exited and no member of its group is left; True if so."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None and not self.leftovers():
                return True
            time.sleep(0.1)
        return False

    def stop(self, timeout: float) -> None:
        """SIGTERM to the group; SIGKILL to whatever is left after `timeout` s."""
        if self.popen is None:
            return
        self.signal_group(signal.SIGTERM)
        if not self.wait_stopped(timeout):
            self.killed = True
            self.signal_group(signal.SIGKILL)
            self.wait_stopped(10)

    def kill(self, signum: int = signal.SIGKILL, timeout: float = 10) -> None:
        """Send `signum` to the whole group at once (a crash, not a shutdown) and wait until it is gone."""
        self.ended_on_purpose = True
        self.signal_group(signum)
        if not self.wait_stopped(timeout):
            left = self.leftovers()
            raise HarnessError(f"{self.name} still runs {timeout:.0f} s after signal {signum}: {left}")

    def children(self) -> list[int]:
        """The pids of the leader's live child processes (e.g. gunicorn's workers)."""
        return [] if self.popen is None else child_pids(self.popen.pid)

    def leftovers(self) -> list[str]:
        """Live (non-zombie) processes still in this process group."""
        if self.popen is None:
            return []
        return [f"{pid} {cmd}" for pid, cmd in _group_members(self.popen.pid)]

    def output(self, stream: str = "both") -> str:
        paths = {"stdout": [self.stdout_path], "stderr": [self.stderr_path]}.get(
            stream, [self.stdout_path, self.stderr_path]
        )
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())


def _proc_stat(pid: int | str) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of a process from /proc, or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
    state, ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
    return state, int(ppid), int(pgrp)


def child_pids(parent: int) -> list[int]:
    """Live (non-zombie) children of `parent` (Linux /proc)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(entry.name)
            if stat is not None and stat[1] == parent and stat[0] not in {"Z", "X"}:
                children.append(int(entry.name))
    return sorted(children)


def rss_bytes(pid: int) -> int | None:
    """Resident set size of a process (VmRSS), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def pid_with_tcp_port(local_port: int, candidates: Iterable[int], host: str = "127.0.0.1") -> int | None:
    """Which of `candidates` owns the TCP socket bound locally to `host:local_port` (Linux /proc).

    E.g. the gunicorn worker behind a PostgreSQL backend (pg_stat_activity.client_port).
    """
    wanted = {f"{socket.htonl(int.from_bytes(socket.inet_aton(host), 'big')):08X}:{local_port:04X}"}
    inodes = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1] in wanted:
                inodes.add(fields[9])
    if not inodes:
        return None
    for pid in candidates:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return pid
    return None


def _group_members(pgid: int) -> list[tuple[int, str]]:
    if not Path("/proc").is_dir():  # not Linux: only whether the group has any member at all
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [(pgid, "(process group still has members)")]
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state not in {"Z", "X"}:
            members.append((int(entry.name), cmdline.strip()))
    return members


# --- HTTP ------------------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    elapsed: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status} {self.text[:300]!r}>"


# --- the stack ---------------------------------------------------------------------------------------


@dataclass
class ProductionStack:
    """Everything README's Production section runs, on loopback. See the module docstring."""

    database_url: str  # server and credentials; the database name is made up per run
    redis_url: str  # its DB index is emptied before and after the run
    gunicorn_workers: int = 2
    worker_args: Sequence[str] = ("--concurrency=2",)
    tick_seconds: float = 1.0
    lottery_timezone: str = "Europe/Amsterdam"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout: float = 120.0  # per step; a loaded 2-CPU machine needs ~35 s to migrate
    stop_timeout: float = 20.0
    host: str = "127.0.0.1"
    # Clone the database from this one (see create_template_database) instead of migrating:
    # seconds instead of half a minute per stack, for tests that start many stacks.
    template_database: str | None = None

    # set by start()
    workdir: Path = field(init=False)
    database_name: str = field(init=False)
    web_port: int = field(init=False)
    smtp: SmtpSink = field(init=False)
    proxy: EdgeProxy = field(init=False)
    env: dict[str, str] = field(init=False, default_factory=dict)
    secret_key: str = field(init=False)
    operator_token: str = field(init=False)
    processes: dict[str, ManagedProcess] = field(init=False, default_factory=dict)
    timings: dict[str, float] = field(init=False, default_factory=dict)  # seconds per phase
    _database_created: bool = field(init=False, default=False)
    _started: bool = field(init=False, default=False)
    _stopped: bool = field(init=False, default=False)

    @classmethod
    def from_environment(cls, **kwargs: Any) -> ProductionStack:
        found = smoke_prerequisites()
        if isinstance(found, str):
            raise HarnessError(found)
        database_url, redis_url = found
        return cls(database_url=database_url, redis_url=redis_url, **kwargs)

    def __post_init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="lottery-stack-"))
        (self.workdir / "logs").mkdir()
        self.database_name = f"lottery_smoke_{os.getpid()}_{secrets.token_hex(3)}"
        self.web_port = free_port(self.host)
        self.smtp = SmtpSink(self.host)
        self.proxy = EdgeProxy((self.host, self.web_port), self.host)
        self.secret_key = secrets.token_urlsafe(64)
        self.operator_token = secrets.token_urlsafe(32)

    # --- addresses

    @property
    def web_url(self) -> str:
        """gunicorn itself (send X-Forwarded-Proto: https, as http() does)."""
        return f"http://{self.host}:{self.web_port}"

    @property
    def public_url(self) -> str:
        """The service as clients see it: through the edge proxy. It is LOTTERY_BASE_URL."""
        return self.proxy.url

    @property
    def app_database_url(self) -> str:
        return _with_path(self.database_url, f"/{self.database_name}")

    # --- lifecycle

    def __enter__(self) -> ProductionStack:
        self.start()
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self.stop()
        except HarnessError as cleanup:
            if exc_type is None:
                raise
            # the test's own error is the one to report
            print(f"\nwhile stopping the production stack: {cleanup}", file=sys.stderr)
        if exc_type is None and not os.environ.get("LOTTERY_STACK_KEEP"):
            self.remove_files()
        else:
            print(f"\nproduction stack files kept in {self.workdir}", file=sys.stderr)

    def start(self) -> None:
        if self._started:
            raise HarnessError("a ProductionStack starts once")
        self._started = True
        atexit.register(self.stop)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        """README's release steps, then the processes: worker and beat once the schema is
        migrated, web once the static files are collected (both steps run side by side)."""
        began = time.monotonic()
        self.smtp.start()
        self._create_database()
        self._flush_redis()
        self.env = self._environment()
        static = subprocess.Popen(
            [*lottery_command(), "manage", "collectstatic", "--noinput", "--verbosity=0"],
            env=self.env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            if self.template_database is None:
                self._run_checked("manage", "migrate", "--noinput")
                self._run_checked("seed-draw-types")
            self.timings["migrated"] = time.monotonic() - began
            self._spawn("worker", ["worker", f"--hostname=lottery-smoke-{os.getpid()}@%h", *self.worker_args])
            self._spawn("beat", ["beat", f"--schedule={self.workdir / 'celerybeat-schedule'}"])
            output, _ = static.communicate(timeout=self.startup_timeout)
        finally:
            if static.poll() is None:
                static.kill()
                static.wait()
        if static.returncode != 0:
            raise HarnessError(f"`lottery manage collectstatic` exited {static.returncode}:\n{output}")
        self.timings["static collected"] = time.monotonic() - began
        web_env = {**self.env, "PROMETHEUS_MULTIPROC_DIR": str(self._mkdir("prometheus"))}
        self._spawn("web", ["web"], web_env)
        self.proxy.start()
        self.wait_ready()
        self.timings["ready"] = time.monotonic() - began

    def _run_checked(self, *args: str) -> None:
        result = self.run_cli(*args, timeout=self.startup_timeout)
        if result.returncode != 0:
            raise HarnessError(f"`lottery {' '.join(args)}` exited {result.returncode}:\n{result.stdout}")

    def _mkdir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(exist_ok=True)
        return path

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(name, [*lottery_command(), *args], env or self.env, self.workdir / "logs")
        self.processes[name] = process
        process.start()
        return process

    def _environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(_INHERITED_PREFIXES) and k not in _INHERITED_NAMES
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
                "PYTHONUNBUFFERED": "1",
                "LOTTERY_ENV": "production",
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1,https://localhost",
                "DATABASE_URL": self.app_database_url,
                "REDIS_URL": self.redis_url,
                "EMAIL_URL": self.smtp.url,
                "DEFAULT_FROM_EMAIL": "Lottery <lottery@example.com>",
                "LOTTERY_BASE_URL": self.public_url,
                "LOTTERY_TIMEZONE": self.lottery_timezone,
                "LOTTERY_TICK_SECONDS": str(self.tick_seconds),
                "LOTTERY_OPERATOR_TOKEN": self.operator_token,
                "LOG_LEVEL": "INFO",
                "STATIC_ROOT": str(self.workdir / "static"),
                "GUNICORN_BIND": f"{self.host}:{self.web_port}",
                "GUNICORN_WORKERS": str(self.gunicorn_workers),
            }
        )
        env.update(self.extra_env)
        return env

    def wait_ready(self, timeout: float | None = None) -> None:
        """Until /readyz answers 200, the worker consumes and beat schedules; fail fast if one dies."""
        timeout = self.startup_timeout if timeout is None else timeout

        def ready() -> bool:
            self.assert_running()
            if not all(self.process_ready(name) for name in self.processes):
                return False
            try:
                return self.http("GET", "/readyz", timeout=2).status == 200
            except OSError:
                return False

        wait_for(ready, timeout=timeout, interval=0.25, message=lambda: f"the stack\n{self.log_tails()}")

    def process_ready(self, name: str) -> bool:
        """Whether a worker consumes / beat schedules (by their log lines); other processes: running."""
        process = self.processes[name]
        if process.ended_on_purpose:
            return True
        if name.startswith("worker"):
            return "ready." in self.logs(name)
        if name.startswith("beat"):
            return "beat: Starting" in self.logs(name)
        return process.running

    def assert_running(self) -> None:
        """Raise if a process exited (except those a fault test killed or stopped on purpose)."""
        for name, process in self.processes.items():
            if process.ended_on_purpose:
                continue
            if not process.running:
                raise HarnessError(
                    f"{name} exited with {process.popen.returncode if process.popen else None}:\n"
                    f"{self.log_tail(name)}"
                )

    def stop(self) -> None:
        """Stop every process, the proxy and the SMTP sink; drop the database; empty the Redis DB."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        errors: list[str] = []
        with contextlib.suppress(Exception):
            self.proxy.stop()
        # Everything gets SIGTERM at once, then each is waited for (and killed if it must be).
        for process in reversed(self.processes.values()):
            process.signal_group(signal.SIGTERM)
        began = time.monotonic()
        for process in reversed(self.processes.values()):
            process.stop(self.stop_timeout)
        self.timings["stop"] = time.monotonic() - began
        try:
            self.smtp.stop()
        except Exception as exc:
            errors.append(f"SMTP sink: {exc!r}")
        if self._database_created:
            try:
                with _maintenance_connection(self.database_url) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')
                self._database_created = False
            except Exception as exc:
                errors.append(f"dropping {self.database_name}: {exc!r}")
        try:
            self._flush_redis()
        except Exception as exc:
            errors.append(f"emptying Redis: {exc!r}")
        if errors:
            raise HarnessError("; ".join(errors))

    def remove_files(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def leftover_processes(self) -> dict[str, list[str]]:
        """Per process name, whatever of its group still runs (empty after a clean stop)."""
        return {name: left for name, p in self.processes.items() if (left := p.leftovers())}

    def open_ports(self) -> list[int]:
        """Which of the stack's ports (web, proxy, SMTP) still accept connections."""
        ports = (self.web_port, self.proxy.port, self.smtp.port)
        return [port for port in ports if port_open(self.host, port)]

    def killed_processes(self) -> list[str]:
        """The processes that did not stop on SIGTERM within stop_timeout."""
        return [name for name, p in self.processes.items() if p.killed]

    # --- external resources

    def _create_database(self) -> None:
        template = f' TEMPLATE "{self.template_database}"' if self.template_database else ""
        with _maintenance_connection(self.database_url) as conn:
            conn.execute(f'CREATE DATABASE "{self.database_name}"{template}')
        self._database_created = True

    def _flush_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=3)
        try:
            client.flushdb()
        finally:
            client.close()

    def sql(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in the stack's database (autocommit); the rows it returns, if any."""
        import psycopg

        with psycopg.connect(self.app_database_url, autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)  # type: ignore[arg-type]
            return list(cursor.fetchall()) if cursor.description else []

    # --- commands, HTTP, logs

    def run_cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`lottery ARGS` with the stack's environment; stdout and stderr together in .stdout."""
        return subprocess.run(
            [*lottery_command(), *args],
            env=self.env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    def http(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        body: bytes | None = None,
        timeout: float = 15,
        via_proxy: bool = False,
    ) -> HttpResponse:
        """One request straight to gunicorn, as the proxy would send it (HTTPS, Host 127.0.0.1);
        with via_proxy, to the edge proxy instead (which adds X-Forwarded-Proto itself)."""
        all_headers = {"Host": "127.0.0.1", "Accept": "application/json"}
        if not via_proxy:
            all_headers["X-Forwarded-Proto"] = "https"
        if json is not None:
            body = _json_dumps(json)
            all_headers["Content-Type"] = "application/json"
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        all_headers.update(headers or {})
        port = self.proxy.port if via_proxy else self.web_port
        conn = http.client.HTTPConnection(self.host, port, timeout=timeout)
        started = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            payload = response.read()
            return HttpResponse(response.status, response.headers, payload, time.monotonic() - started)
        finally:
            conn.close()

    def sign_in(self, email_address: str, password: str, **kwargs: Any) -> str:
        """A bearer token for a verified account."""
        response = self.http(
            "POST", "/api/v1/auth/signin", json={"email": email_address, "password": password}, **kwargs
        )
        if response.status != 200:
            raise HarnessError(f"signin as {email_address} failed: {response!r}")
        return str(response.json()["token"])

    def logs(self, name: str, stream: str = "both") -> str:
        """What process `name` wrote so far to `stream`: "stdout", "stderr" or "both" (stdout first)."""
        process = self.processes.get(name)
        return process.output(stream) if process else ""

    def log_lines(self, name: str, stream: str = "both") -> list[str]:
        return [line for line in self.logs(name, stream).splitlines() if line.strip()]

    def log_records(self, name: str, stream: str = "both") -> tuple[list[dict[str, Any]], list[str]]:
        """Process `name`'s output parsed as JSON lines: (objects, lines that are not JSON objects)."""
        records, other = [], []
        for line in self.log_lines(name, stream):
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                records.append(value)
            else:
                other.append(line)
        return records, other

    def log_tail(self, name: str, lines: int = 40) -> str:
        return "\n".join(self.log_lines(name)[-lines:])

    def log_tails(self, lines: int = 25) -> str:
        return "\n".join(f"--- {name}\n{self.log_tail(name, lines)}" for name in self.processes)

    def all_logs(self) -> Iterable[tuple[str, str]]:
        return ((name, self.logs(name)) for name in self.processes)

    # --- fault injection and soak helpers (tests/faults, bench/soak.py)

    def start_worker(self, name: str, *args: str) -> ManagedProcess:
        """Another Celery worker (its own node name; `args` default to worker_args), e.g. to
        replace one a test killed. Its name must start with "worker" (wait_ready checks it)."""
        if not name.startswith("worker") or name in self.processes:
            raise HarnessError(f"a new worker needs a new name starting with 'worker', not {name!r}")
        node = f"--hostname=lottery-{name}-{os.getpid()}@%h"
        return self._spawn(name, ["worker", node, *(args or self.worker_args)])

    def start_beat(self, name: str) -> ManagedProcess:
        """Another Celery beat with its own schedule file; its name must start with "beat"."""
        if not name.startswith("beat") or name in self.processes:
            raise HarnessError(f"a new beat needs a new name starting with 'beat', not {name!r}")
        return self._spawn(name, ["beat", f"--schedule={self.workdir / f'{name}-schedule'}"])

    def wait_process_ready(self, name: str, timeout: float = 60) -> None:
        def ready() -> bool:
            if not self.processes[name].running:
                raise HarnessError(f"{name} exited:\n{self.log_tail(name)}")
            return self.process_ready(name)

        wait_for(ready, timeout=timeout, interval=0.2, message=lambda: f"{name}\n{self.log_tail(name)}")

    def kill(self, name: str, signum: int = signal.SIGKILL, timeout: float = 10) -> None:
        """Crash process `name`: `signum` (SIGKILL) to its whole group at once; wait until gone."""
        self.processes[name].kill(signum, timeout)

    def stop_process(self, name: str) -> None:
        """Stop process `name` as stop() would (SIGTERM, SIGKILL after stop_timeout), on purpose."""
        process = self.processes[name]
        process.ended_on_purpose = True
        process.signal_group(signal.SIGTERM)
        process.stop(self.stop_timeout)

    def gunicorn_worker_pids(self) -> list[int]:
        """The live gunicorn worker processes (children of the `lottery web` master)."""
        return self.processes["web"].children()

    def wait_gunicorn_workers(self, count: int | None = None, timeout: float = 60) -> list[int]:
        count = self.gunicorn_workers if count is None else count
        return wait_for(
            lambda: (pids := self.gunicorn_worker_pids()) and len(pids) >= count and pids,
            timeout=timeout,
            message=f"{count} gunicorn workers",
        )

    def kill_gunicorn_worker(self, pid: int, signum: int = signal.SIGKILL) -> None:
        """Crash one gunicorn worker (the master notices and forks a replacement)."""
        if pid not in self.gunicorn_worker_pids():
            raise HarnessError(f"{pid} is not a gunicorn worker of this stack")
        os.kill(pid, signum)
        wait_for(lambda: pid not in self.gunicorn_worker_pids(), timeout=10, message=f"worker {pid} to die")

    def run_python(self, code: str, *args: str, timeout: float = 120) -> str:
        """Run `code` (it calls django.setup() itself) with the stack's environment; its stdout.
        `args` reach it as sys.argv[1:]."""
        result = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=self.env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = f"{result.stdout}\n{result.stderr}"
            raise HarnessError(f"python snippet exited {result.returncode}:\n{output}")
        return result.stdout

    def create_players(self, count: int, prefix: str = "player") -> list[dict[str, Any]]:
        """`count` verified accounts with a bearer token each, made in the database directly
        (no e-mail, no password): [{"id", "email", "token"}]."""
        output = self.run_python(_CREATE_PLAYERS, str(count), f"{prefix}-{secrets.token_hex(3)}")
        return list(json.loads(output.strip().splitlines()[-1]))


_CREATE_PLAYERS = """
import json, sys
import django
django.setup()
from django.utils import timezone
from knox.models import AuthToken
from lottery.accounts.models import User
count, prefix = int(sys.argv[1]), sys.argv[2]
players = []
for index in range(count):
    user = User.objects.create_user(
        f"{prefix}-{index}@example.com", password=None, name=f"Player {index}",
        email_verified_at=timezone.now(),
    )
    players.append({"id": user.pk, "email": user.email, "token": AuthToken.objects.create(user=user)[1]})
print(json.dumps(players))
"""


def _json_dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def new_request_id(prefix: str = "req") -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def link_in(text: str, base_url: str, kind: str) -> str:
    """The last path segment of the `{base_url}/{kind}/<token>` link on its own line of `text`."""
    match = re.search(rf"^{re.escape(base_url)}/{re.escape(kind)}/(\S+)$", text, re.MULTILINE)
    if not match:
        raise HarnessError(f"no {base_url}/{kind}/… link in:\n{text}")
    return match.group(1)


# --- private PostgreSQL and Redis servers (fault tests stop and restart these, never the shared ones)


def postgres_bin_dir() -> Path | None:
    """A directory with PostgreSQL's initdb, pg_ctl and postgres: $PG_BIN_DIR, the newest
    /usr/lib/postgresql/*/bin (Debian), or wherever initdb is on PATH."""
    candidates = [os.environ.get("PG_BIN_DIR", "")]
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates += [str(p) for p in versions]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).resolve().parent))
    for candidate in filter(None, candidates):
        directory = Path(candidate)
        if all((directory / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def _postgres_os_user() -> str | None:
    """initdb refuses to run as root: as root, the private cluster runs as the `postgres` user."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise HarnessError("running as root needs a `postgres` OS user for a private PostgreSQL") from exc
    return "postgres"


class PrivatePostgres:
    """A throwaway PostgreSQL cluster: initdb into a temp dir, its own loopback port, trust auth
    for the `postgres` role. Tests may stop, kill and restart it; destroy() removes it.

        with PrivatePostgres() as pg:
            ProductionStack(database_url=pg.url, redis_url=...)
    """

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, bin_dir: Path | None = None) -> None:
        found = bin_dir or postgres_bin_dir()
        if found is None:
            raise HarnessError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.bin_dir = found
        self.host = host
        self.port = port or free_port(host)
        self.os_user = _postgres_os_user()
        self.root = Path(tempfile.mkdtemp(prefix="lottery-pg-"))
        self.data = self.root / "data"
        self.logfile = self.root / "postgres.log"
        self._initialized = False

    @property
    def url(self) -> str:
        """The cluster's superuser on its maintenance database (ProductionStack makes its own)."""
        return f"postgres://postgres@{self.host}:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        return subprocess.run(
            [str(self.bin_dir / tool), *args],
            env=env,
            cwd=self.root,
            user=self.os_user,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _checked(self, tool: str, *args: str, timeout: float = 120) -> None:
        result = self._run(tool, *args, timeout=timeout)
        if result.returncode != 0:
            raise HarnessError(
                f"{tool} {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
                f"\n{self.log_tail()}"
            )

    def start(self) -> None:
        """initdb (the first time), then start the server and wait until it accepts connections."""
        if not self._initialized:
            atexit.register(self.destroy)
            if self.os_user:
                shutil.chown(self.root, self.os_user, self.os_user)
            self._checked(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--locale=C", "--no-sync", "--no-instructions",
            )  # fmt: skip
            self._initialized = True
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",  # its Unix socket in the temp dir, not /var/run/postgresql
                f"-c listen_addresses={self.host}",
                "-c max_connections=200",
                "-c fsync=off",  # a throwaway cluster: durability across OS crashes is not tested
                "-c full_page_writes=off",
            ]
        )
        self._checked(
            "pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: "fast" (roll back open transactions, disconnect everyone), "immediate"
        (as a crash: no shutdown checkpoint, recovery at the next start) or "smart"."""
        self._checked("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    @property
    def running(self) -> bool:
        return self._initialized and self._run("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def destroy(self) -> None:
        atexit.unregister(self.destroy)
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


class PrivateRedis:
    """A throwaway redis-server on its own loopback port, without persistence: stopping it
    loses whatever it held (queued Celery messages included), as a Redis restart without
    AOF/RDB does. start() after stop() brings it back, empty, on the same port."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, binary: str | None = None) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise HarnessError("redis-server not found")
        self.binary = found
        self.host = host
        self.port = port or free_port(host)
        self.root = Path(tempfile.mkdtemp(prefix="lottery-redis-"))
        self.popen: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def start(self, timeout: float = 20) -> None:
        if self.running:
            return
        atexit.register(self.destroy)
        argv = [self.binary, "--port", str(self.port), "--bind", self.host]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"]
        with (self.root / "redis.log").open("ab") as log:
            self.popen = subprocess.Popen(
                argv,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self.ping, timeout=timeout, interval=0.05, message=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        import redis

        if not self.running:
            log = (self.root / "redis.log").read_text(errors="replace")
            raise HarnessError(f"redis-server exited:\n{log}")
        client = redis.Redis(host=self.host, port=self.port, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Stop the server (SIGTERM: a clean shutdown; SIGKILL: a crash) and wait until it is gone."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signum)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)
        wait_for(lambda: not port_open(self.host, self.port), timeout=10, message="redis port to close")

    def destroy(self) -> None:
        atexit.unregister(self.destroy)
        if self.running:
            self.stop(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()
