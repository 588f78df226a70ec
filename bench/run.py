"""`make bench`: the production processes on loopback, every workload of issue P5, one run.

    PYTHONPATH=. .venv/bin/python bench/run.py [--quick] [--huge] [--docs-chart]

One run (see bench/README.md):

1. creates a fresh PostgreSQL database (unique name, dropped at the end) from
   ``BENCH_DATABASE_URL`` (an admin connection; default postgres://postgres@127.0.0.1:5432/postgres),
   migrates it, seeds the draw types, creates verified users with bearer tokens, the next draws,
   and unassigned ballots to assign later;
2. fills draws of 10,000 / 100,000 / 1,000,000 ballots (and 1,000 for the read comparison; with
   ``--huge`` also 10,000,000) by SQL and closes each in its own process, reusing
   bench/close_draw.py (wall time and peak RSS of the closing process, proof computed);
3. starts what production runs, on 127.0.0.1: ``lottery web`` (gunicorn, its production
   defaults), ``lottery worker`` (Celery on Redis db 12, flushed), and an SMTP sink for EMAIL_URL;
4. measures this machine's floor in the same run: wrk on /healthz and pgbench single-row inserts;
5. runs the HTTP workloads with wrk (Lua scripts in bench/lua/): purchase at 16 and 64
   connections (then checks every acknowledged ballot is in the draw), bulk purchase of 1,000
   ballots (sequential, Python client), assign at 64 connections, reads of the closed draws at
   64 connections, and ``lottery verify`` of the 1,000,000-ballot draw;
6. prints a table with the targets of the issue, writes bench/results/<UTC timestamp>.json and
   a PNG chart beside it, and stops everything it started, also on failure or Ctrl-C.

The top-level process never imports Django (the closes' peak RSS must be their own: see
bench/close_draw.py). ``--worker setup`` is this script's Django-side helper.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import datetime as dt
import glob
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
LUA_DIR = BENCH_DIR / "lua"
RESULTS_DIR = BENCH_DIR / "results"
DOCS_CHART = ROOT / "docs" / "performance-close.png"
sys.path.insert(0, str(BENCH_DIR))

import close_draw  # noqa: E402  (bench/close_draw.py: the fill, close and env helpers)

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
TEST_CARD = "4242424242424242"
WRK_TIMEOUT = "10s"  # a slow answer is measured, not dropped (wrk's default is 2 s)
MIB = 1024 * 1024

# The old services and the targets, from issue P5.
FLOOR_SHARE_WRITE = 0.40
FLOOR_SHARE_READ = 0.70


@dataclass(frozen=True)
class Plan:
    """Durations (s), connection counts and sizes of one run."""

    warmup: int
    floor: int
    pgbench: int
    purchase: int
    assign: int
    read: int
    bulk_requests: int
    users: int
    unassigned_per_user: int
    close_counts: tuple[int, ...]
    read_small: int
    wrk_threads: int


FULL = Plan(
    warmup=3,
    floor=10,
    pgbench=10,
    purchase=20,
    assign=20,
    read=10,
    bulk_requests=10,
    users=64,
    unassigned_per_user=2_500,
    close_counts=(10_000, 100_000, 1_000_000),
    read_small=1_000,
    wrk_threads=2,
)
QUICK = Plan(
    warmup=1,
    floor=3,
    pgbench=3,
    purchase=5,
    assign=5,
    read=3,
    bulk_requests=5,
    users=16,
    unassigned_per_user=1_500,
    close_counts=(10_000, 100_000),
    read_small=1_000,
    wrk_threads=2,
)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    pass


# --- processes we start ----------------------------------------------------------------------


class Stack:
    """Every long-running process the bench starts, each in its own process group."""

    def __init__(self, logdir: Path) -> None:
        self.logdir = logdir
        self.procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
        self.smtp: SmtpSink | None = None

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        logfile = self.logdir / f"{name}.log"
        with open(logfile, "ab") as out:
            proc = subprocess.Popen(
                command,
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        self.procs.append((name, proc, logfile))
        log(f"started {name} (pid {proc.pid}), log {logfile}")
        return proc

    def check_alive(self) -> None:
        for name, proc, logfile in self.procs:
            if proc.poll() is not None:
                raise BenchError(f"{name} exited with {proc.returncode}:\n{tail(logfile)}")

    def stop_all(self) -> None:
        while self.procs:
            name, proc, _ = self.procs.pop()
            stop_group(name, proc)
        if self.smtp is not None:
            self.smtp.stop()
            self.smtp = None


def stop_group(name: str, proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop in 20 s: SIGKILL")
    # Whatever is left in its group (workers, children), also when the leader is gone.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
    log(f"stopped {name} (pid {proc.pid})")


def tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 16_384))
            return "\n".join(file.read().decode(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


class SmtpSink:
    """A throwaway SMTP server on 127.0.0.1 that accepts every message and discards it."""

    def __init__(self) -> None:
        self.messages = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smtp-sink", daemon=True)

    def start(self) -> int:
        self._thread.start()
        if not self._ready.wait(10):
            raise BenchError("the SMTP sink did not start")
        return self.port

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def reply(line: str) -> None:
            writer.write(f"{line}\r\n".encode())
            await writer.drain()

        try:
            await reply("220 bench-sink ESMTP")
            while line := await reader.readline():
                verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
                if verb == "EHLO":
                    await reply("250-bench-sink\r\n250 8BITMIME")
                elif verb == "DATA":
                    await reply("354 end with <CRLF>.<CRLF>")
                    while await reader.readline() not in (b".\r\n", b".\n", b""):
                        pass
                    self.messages += 1
                    await reply("250 OK: discarded")
                elif verb == "QUIT":
                    await reply("221 bye")
                    break
                else:  # HELO, MAIL, RCPT, RSET, NOOP, …
                    await reply("250 OK")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- database --------------------------------------------------------------------------------


def db_execute(url: str, *statements: str, params: Any = None) -> list[Any]:
    """Run statements (autocommit); the rows of the last one."""
    import psycopg

    rows: list[Any] = []
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            cursor = conn.execute(statement, params)  # type: ignore[arg-type]
            rows = cursor.fetchall() if cursor.description else []
    return rows


def create_database(admin_url: str, name: str) -> None:
    db_execute(admin_url, f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    db_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


# --- environments ----------------------------------------------------------------------------

# Whatever the caller's shell says, the bench's draws close without a beacon (a beacon draw
# only freezes at its close) and the service talks to the bench's own database and Redis db.
_CLEARED = ("LOTTERY_BEACON_URL", "LOTTERY_BEACON_CHAIN", "DJANGO_DEBUG", "SENTRY_DSN")


def embedded_env(database_url: str) -> dict[str, str]:
    """Setup, fill and close subprocesses: bench/close_draw.py's embedded-mode environment."""
    env = close_draw.django_env(database_url)
    for name in _CLEARED:
        env.pop(name, None)
    return env


def production_env(
    *, database_url: str, redis_url: str, port: int, smtp_port: int, workdir: Path
) -> dict[str, str]:
    """`lottery web` and `lottery worker` as README's Production section runs them."""
    env = dict(os.environ)
    for name in (*_CLEARED, "CELERY_BROKER_URL", "LOG_FORMAT"):
        env.pop(name, None)
    env.update(
        LOTTERY_ENV="production",
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}",
        LOTTERY_BASE_URL=f"http://127.0.0.1:{port}",
        # wrk sends X-Forwarded-Proto: https like the TLS proxy; `lottery verify` cannot, and
        # plain HTTP on loopback is what README allows for a trial.
        SECURE_SSL_REDIRECT="false",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        STATIC_ROOT=str(workdir / "static"),
        PROMETHEUS_MULTIPROC_DIR=str(workdir / "metrics"),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    (workdir / "metrics").mkdir(exist_ok=True)
    return env


def lottery_bin() -> str:
    candidate = Path(sys.executable).parent / "lottery"
    return str(candidate) if candidate.exists() else (shutil.which("lottery") or "lottery")


def tool(name: str) -> str:
    """wrk or pgbench (PostgreSQL's own binary before Debian's version-picking wrapper)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    path = found[-1] if found else shutil.which(name)
    if not path:
        hint = "apt-get install -y wrk" if name == "wrk" else "apt-get install -y postgresql-contrib"
        raise BenchError(f"{name} not found: `make bench` installs it ({hint})")
    return path


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path))


# --- worker: setup (Django) --------------------------------------------------------------------


def worker_setup(payload: dict[str, Any]) -> dict[str, Any]:
    """Draw types, the next draws, verified users with tokens, unassigned ballots to assign."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone
    from knox.models import AuthToken

    from lottery.accounts.models import User
    from lottery.draws.defaults import draw_types_seed_defaults
    from lottery.draws.models import Draw
    from lottery.draws.services import draws_ensure_upcoming
    from lottery.payments.models import Order

    workdir = Path(payload["workdir"])
    now = timezone.now()
    draw_types_seed_defaults()
    draws_ensure_upcoming(now=now)
    # Two open draws that stay open for the whole run: purchases go into the first,
    # assignments into the second (so each draw's audit counts one workload only).
    usable = Draw.objects.filter(
        status=Draw.Status.OPEN, closes_at__gt=now + dt.timedelta(hours=2), date__lt=dt.date(2040, 1, 1)
    ).order_by("closes_at")
    sales, assign = list(usable[:2])
    tokens = []
    assign_lines: list[list[str]] = []
    price = settings.LOTTERY_BALLOT_PRICE_CENTS
    per_user = payload["unassigned_per_user"]
    for index in range(payload["users"]):
        user = User.objects.create_user(
            f"bench-user-{index}@example.com", password=None, name=f"Bench Player {index}"
        )
        user.email_verified_at = now
        user.save(update_fields=["email_verified_at"])
        tokens.append(AuthToken.objects.create(user=user)[1])
        order = Order.objects.create(
            user=user,
            quantity=min(per_user, 1000),  # the order row is only a foreign key target here
            amount=per_user * price,
            currency=settings.LOTTERY_CURRENCY,
            draw=None,
            gateway="bench",
            charge_reference=f"bench-unassigned-{index}",
            card_last4="4242",
            created_at=now,
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO draws_ballot (owner_id, order_id, draw_id, purchased_at, assigned_at) "
                "SELECT %s, %s, NULL, %s, NULL FROM generate_series(1, %s) RETURNING id",
                [user.pk, order.pk, now, per_user],
            )
            assign_lines.append([f"{row[0]} {index}" for row in cursor.fetchall()])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    (workdir / "tokens.txt").write_text("\n".join(tokens) + "\n")
    # Interleaved over users, so consecutive requests of a thread belong to different users.
    interleaved = [line for group in zip(*assign_lines, strict=True) for line in group]
    (workdir / "assign_sanity.txt").write_text(interleaved[0] + "\n")
    (workdir / "assign.txt").write_text("\n".join(interleaved[1:]) + "\n")
    return {
        "sales_date": sales.date.isoformat(),
        "sales_draw_id": sales.pk,
        "assign_date": assign.date.isoformat(),
        "assign_draw_id": assign.pk,
        "users": len(tokens),
        "unassigned_ballots": len(interleaved),
    }


def run_setup_worker(env: dict[str, str], payload: dict[str, Any]) -> dict[str, Any]:
    """`bench/run.py --worker setup` in a subprocess; its last stdout line is its JSON answer."""
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", "setup"],
        env=env,
        cwd=ROOT,
        input=json.dumps(payload),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BenchError(f"bench setup failed (exit {completed.returncode})")
    answer: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return answer


# --- HTTP --------------------------------------------------------------------------------------


class Client:
    """A keep-alive HTTP/1.1 client for the sequential requests (sanity checks, bulk purchase)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self, method: str, path: str, *, body: Any = None, token: str | None = None, key: str | None = None
    ) -> tuple[int, bytes]:
        headers = {"X-Forwarded-Proto": "https", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if key:
            headers["Idempotency-Key"] = key
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()  # the server closed a kept-alive connection: retry once
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def purchase_body(quantity: int, draw_date: str) -> dict[str, Any]:
    return {
        "quantity": quantity,
        "draw": draw_date,
        "payment": {
            "card_number": TEST_CARD,
            "expiry_month": 12,
            "expiry_year": dt.datetime.now(dt.UTC).year + 5,
            "cvc": "123",
        },
    }


def wait_ready(port: int, stack: Stack, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            client = Client(port)
            status, body = client.request("GET", "/readyz")
            client.close()
            if status == 200:
                return
            last = f"{status} {body[:300]!r}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise BenchError(f"/readyz not ready after {timeout:.0f} s: {last}")


def wait_for_log(path: Path, needle: str, stack: Stack, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.check_alive()
        with contextlib.suppress(OSError):
            if needle in path.read_text(errors="replace"):
                return True
        time.sleep(0.5)
    return False


class Settler:
    """Waits until the service is idle before a measurement.

    When wrk stops, requests it gave up on may still be queued in or running on gunicorn
    (and in PostgreSQL); measured next, a workload would pay for its predecessor's backlog.
    Idle means: no active query of the service in the bench database and a /healthz answered
    within 100 ms, three checks in a row. Each wait is recorded (`settle_seconds`).
    """

    def __init__(self, port: int, database_url: str, timeout: float = 180) -> None:
        self.port, self.database_url, self.timeout = port, database_url, timeout
        self.waits: dict[str, float] = {}

    def __call__(self, name: str) -> float:
        start = time.monotonic()
        calm = 0
        while calm < 3 and time.monotonic() - start < self.timeout:
            active = db_execute(
                self.database_url,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
            )[0][0]
            begin = time.perf_counter()
            try:
                client = Client(self.port)
                status, _ = client.request("GET", "/healthz")
                client.close()
            except OSError:
                status = 0
            quick = status == 200 and time.perf_counter() - begin < 0.1
            calm = calm + 1 if active == 0 and quick else 0
            if calm < 3:
                time.sleep(0.3)
        waited = round(time.monotonic() - start, 1)
        self.waits[name] = waited
        if calm < 3:
            log(f"warning: the service was still busy after {waited} s; measuring {name} anyway")
        elif waited > 2:
            log(f"waited {waited} s for the service to go idle before {name}")
        return waited


# --- wrk and pgbench -------------------------------------------------------------------------


def run_wrk(
    *,
    name: str,
    script: str,
    url: str,
    connections: int,
    seconds: int,
    threads: int,
    workdir: Path,
    settle: Settler,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One wrk run; rps, p50/p99 in ms, errors = socket errors + non-2xx, and wrk's details."""
    settled = settle(name)
    out = workdir / f"wrk-{name}.json"
    out.unlink(missing_ok=True)
    threads = min(threads, connections)
    run_env = dict(os.environ)
    run_env.update(
        BENCH_LUA_DIR=str(LUA_DIR),
        BENCH_WRK_OUT=str(out),
        BENCH_WRK_THREADS=str(threads),
        BENCH_TOKENS_FILE=str(workdir / "tokens.txt"),
        **(env or {}),
    )
    command = [
        tool("wrk"),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        WRK_TIMEOUT,
        "--latency",
        "-s",
        str(LUA_DIR / script),
        url,
    ]
    load = os.getloadavg()[0]
    completed = subprocess.run(
        command, env=run_env, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    (workdir / f"wrk-{name}.txt").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0 or not out.exists():
        raise BenchError(
            f"wrk {name} failed (exit {completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )
    raw = json.loads(out.read_text())
    socket_errors = sum(raw["socket_errors"].values())
    seconds_run = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    result = {
        "rps": round(raw["requests"] / seconds_run, 1),
        "p50_ms": round(latency["p50"] / 1000, 2),
        "p99_ms": round(latency["p99"] / 1000, 2),
        "errors": socket_errors + raw["non2xx"],
        "requests": raw["requests"],
        "seconds": round(seconds_run, 2),
        "connections": connections,
        "wrk_threads": threads,
        "p90_ms": round(latency["p90"] / 1000, 2),
        "p999_ms": round(latency["p999"] / 1000, 2),
        "max_ms": round(latency["max"] / 1000, 2),
        "socket_errors": raw["socket_errors"],
        "non2xx": raw["non2xx"],
        "statuses": raw["statuses"],
        "load1_before": round(load, 2),
        "settled_seconds": settled,
    }
    log(
        f"{name}: {result['rps']:.0f} req/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
        f"{result['errors']} errors, statuses {raw['statuses']} (load {load:.2f})"
    )
    result["_ids"] = raw["ids"]
    result["_unparsed"] = raw["unparsed"]
    return result


def public(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if not k.startswith("_")}


def run_pgbench(database_url: str, seconds: int, workdir: Path) -> dict[str, Any]:
    """Single-row INSERTs into a scratch table: 16 clients, 2 threads, tps without connecting."""
    db_execute(
        database_url,
        "DROP TABLE IF EXISTS bench_insert_floor",
        "CREATE TABLE bench_insert_floor (id bigserial PRIMARY KEY, "
        "created_at timestamptz NOT NULL DEFAULT now(), value integer NOT NULL)",
    )
    script = workdir / "pgbench_insert.sql"
    script.write_text("\\set v random(1, 1000000)\nINSERT INTO bench_insert_floor (value) VALUES (:v);\n")
    command = [tool("pgbench"), "-n", "-f", str(script), "-c", "16", "-j", "2", "-T", str(seconds)]
    load = os.getloadavg()[0]
    completed = subprocess.run(
        [*command, database_url], capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    (workdir / "pgbench.txt").write_text(completed.stdout + completed.stderr)
    match = re.search(
        r"tps = ([\d.]+) \((without initial connection time|excluding connections)", completed.stdout
    )
    if completed.returncode != 0 or not match:
        raise BenchError(
            f"pgbench failed (exit {completed.returncode}):\n{completed.stdout}{completed.stderr}"
        )
    rows = db_execute(database_url, "SELECT count(*) FROM bench_insert_floor")
    db_execute(database_url, "DROP TABLE bench_insert_floor")
    tps = float(match.group(1))
    log(f"pgbench single-row insert: {tps:.0f} tps ({rows[0][0]:,} rows, load {load:.2f})")
    return {
        "tps": round(tps, 1),
        "rows": rows[0][0],
        "clients": 16,
        "threads": 2,
        "load1_before": round(load, 2),
    }


# --- the run -----------------------------------------------------------------------------------


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    plan = QUICK if args.quick else FULL
    close_counts = list(plan.close_counts) + ([10_000_000] if args.huge else [])
    started = time.perf_counter()
    stamp = dt.datetime.now(dt.UTC)
    db_name = f"lottery_bench_{stamp:%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"
    database_url = close_draw.bench_database_url(args.database_url, db_name)
    workdir = Path(tempfile.mkdtemp(prefix="lottery-bench-"))
    stack = Stack(workdir)
    results: dict[str, Any] = {
        "timestamp": stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "quick": args.quick,
        "huge": args.huge,
    }
    machine_before = {"load_before": list(os.getloadavg())}
    atexit.register(stack.stop_all)
    created = False
    failed = True
    try:
        log(f"database {db_name}: creating and migrating (work dir {workdir})")
        create_database(args.database_url, db_name)
        created = True
        embedded = embedded_env(database_url)
        close_draw.migrate(embedded)
        setup = run_setup_worker(
            embedded,
            {
                "workdir": str(workdir),
                "users": plan.users,
                "unassigned_per_user": plan.unassigned_per_user,
            },
        )
        log(
            f"setup: {setup['users']} verified users with tokens, purchases into {setup['sales_date']}, "
            f"{setup['unassigned_ballots']:,} unassigned ballots to assign into {setup['assign_date']}"
        )
        results["setup"] = setup

        # Closes first, while nothing else runs (and before this process grows: close_draw.py).
        closes, verify_targets = fill_and_close(embedded, close_counts, plan.read_small)
        results["close"] = [
            {
                "ballots": c["ballots"],
                "seconds": round(c["seconds"], 3),
                "peak_rss_mib": round(c["peak_rss_mib"], 1),
            }
            for c in closes
            if c["ballots"] in close_counts
        ]
        results["close_detail"] = [
            {
                "ballots": c["ballots"],
                "date": c["date"],
                "cpu_seconds": round(c["cpu_seconds"], 3),
                "vm_hwm_mib": c["vm_hwm_mib"],
                "rss_before_mib": c["rss_before_mib"],
                "fill_seconds": c["fill_seconds"],
            }
            for c in closes
        ]

        # The fills above wrote gigabytes of WAL and dirty pages; without a checkpoint now,
        # PostgreSQL writes them back during the workloads below, and a purchase's COMMIT
        # (an fsync of its WAL) waited up to a second behind that I/O (seen in the
        # server's log as 130-1,170 ms COMMITs of bulk purchases right after a 10M fill).
        db_execute(database_url, "CHECKPOINT")

        # The production processes.
        flush_redis(args.redis_url)
        stack.smtp = SmtpSink()
        smtp_port = stack.smtp.start()
        port = args.port or free_port()
        env = production_env(
            database_url=database_url,
            redis_url=args.redis_url,
            port=port,
            smtp_port=smtp_port,
            workdir=workdir,
        )
        lottery = lottery_bin()
        log("collectstatic (production static files)")
        subprocess.run(
            [lottery, "manage", "collectstatic", "--noinput", "--verbosity", "0"],
            env=env,
            cwd=ROOT,
            check=True,
        )
        stack.start("web", [lottery, "web"], env)
        stack.start("worker", [lottery, "worker"], env)
        wait_ready(port, stack)
        if not wait_for_log(workdir / "worker.log", "ready.", stack):
            log("warning: the Celery worker did not report ready within 90 s")
        base = f"http://127.0.0.1:{port}"
        results["settings"] = stack_settings(env, plan, port)
        log(f"service up at {base}: gunicorn {results['settings']['gunicorn']}")

        sanity = sanity_checks(port, workdir, setup, verify_targets)
        settle = Settler(port, database_url)
        wrk = {"threads": plan.wrk_threads, "workdir": workdir, "settle": settle}

        # Floor.
        run_wrk(
            name="warmup-healthz",
            script="get.lua",
            url=f"{base}/healthz",
            connections=64,
            seconds=plan.warmup,
            **wrk,
        )
        healthz = run_wrk(
            name="floor-healthz",
            script="get.lua",
            url=f"{base}/healthz",
            connections=64,
            seconds=plan.floor,
            **wrk,
        )
        settle("pgbench")
        pg = run_pgbench(database_url, plan.pgbench, workdir)
        results["floor"] = {
            "healthz_rps": healthz["rps"],
            "pg_insert_tps": pg["tps"],
            "healthz": public(healthz),
            "pgbench": pg,
        }

        # Purchases straight into the draw, then the audit.
        purchase: dict[str, Any] = {}
        acknowledged: dict[str, list[int]] = {"sanity": sanity["purchase_ids"]}
        unparsed = 0
        for connections in (16, 64):
            label = f"c{connections}"
            result = run_wrk(
                name=f"purchase-{label}",
                script="purchase.lua",
                url=f"{base}/api/v1/ballots/purchase",
                connections=connections,
                seconds=plan.purchase,
                env={
                    "BENCH_DRAW_DATE": setup["sales_date"],
                    "BENCH_QUANTITY": "1",
                    "BENCH_KEY_PREFIX": f"bench-{stamp:%H%M%S}-{label}",
                },
                **wrk,
            )
            acknowledged[label] = result.pop("_ids")
            unparsed += result.pop("_unparsed")
            purchase[label] = public(result)
        settle("bulk-purchase")
        bulk_ms, bulk_detail, bulk_ids = bulk_purchase(port, workdir, setup["sales_date"], plan.bulk_requests)
        acknowledged["bulk"] = bulk_ids
        audit = purchase_audit(database_url, setup["sales_draw_id"], acknowledged, unparsed)
        purchase["lost_ballots"] = audit["lost_ballots"]
        purchase["audit"] = audit
        results["purchase"] = purchase
        results["bulk_purchase_1000_ms"] = bulk_ms
        results["bulk_purchase_1000"] = bulk_detail

        # Assign.
        assign = run_wrk(
            name="assign-c64",
            script="assign.lua",
            url=f"{base}/api/v1/ballots/0/assign",
            connections=64,
            seconds=plan.assign,
            env={"BENCH_DRAW_DATE": setup["assign_date"], "BENCH_ASSIGN_FILE": str(workdir / "assign.txt")},
            **wrk,
        )
        assigned = db_execute(
            database_url,
            "SELECT count(*) FROM draws_ballot WHERE draw_id = %s",
            params=[setup["assign_draw_id"]],
        )[0][0]
        ok_assign = int(assign["statuses"].get("200", 0)) + 1  # + the sanity check's
        results["assign"] = {
            "c64": public(assign),
            "audit": {
                "acknowledged": ok_assign,
                "in_draw": assigned,
                "missing": max(ok_assign - assigned, 0),
                "unassigned_available": setup["unassigned_ballots"],
            },
        }
        if assigned < ok_assign:
            log(f"ASSIGN AUDIT: {ok_assign - assigned} acknowledged assignments are not in the draw")

        # Reads of closed draws: the largest closed draw, and the small one for comparison.
        big = max(verify_targets, key=lambda d: d["ballots"] if d["ballots"] <= 1_000_000 else -1)
        small = next(d for d in verify_targets if d["ballots"] == plan.read_small)
        read_closed: dict[str, Any] = {
            "ballots": big["ballots"],
            "c64": {},
            "small": {"ballots": small["ballots"], "c64": {}},
        }
        for draw, target in ((big, read_closed["c64"]), (small, read_closed["small"]["c64"])):
            for endpoint, suffix in (("detail", ""), ("winners", "/winners"), ("proof", "/proof")):
                path = f"/api/v1/draws/{draw['date']}{suffix}"
                result = run_wrk(
                    name=f"read-{endpoint}-{draw['ballots']}",
                    script="get.lua",
                    url=f"{base}{path}",
                    connections=64,
                    seconds=plan.read,
                    **wrk,
                )
                target[endpoint] = {**public(result), "bytes": sanity["read_bytes"][path]}
        results["read_closed"] = read_closed

        # lottery verify, over HTTP, of every closed draw.
        results["verify"] = []
        for draw in verify_targets:
            settle(f"verify-{draw['ballots']}")
            results["verify"].append(run_verify(lottery, base, draw))
        one_million = next((v for v in results["verify"] if v["ballots"] == 1_000_000), None)
        results["verify_1m_seconds"] = one_million["seconds"] if one_million else None

        # The floor again: how much did the machine drift during the run?
        healthz_end = run_wrk(
            name="floor-healthz-end",
            script="get.lua",
            url=f"{base}/healthz",
            connections=64,
            seconds=plan.floor,
            **wrk,
        )
        results["floor"]["healthz_end_rps"] = healthz_end["rps"]
        results["settle_seconds"] = settle.waits
        results["smtp_messages"] = stack.smtp.messages if stack.smtp else None
        stack.check_alive()
        failed = False
    finally:
        stack.stop_all()
        with contextlib.suppress(Exception):
            flush_redis(args.redis_url)
        if created and not args.keep_db:
            try:
                drop_database(args.database_url, db_name)
                log(f"dropped database {db_name}")
            except Exception as exc:  # report, but do not hide the original error
                log(f"could not drop database {db_name}: {exc}")
        elif created:
            log(f"database kept: {database_url}")
        if failed or args.keep_logs:
            log(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    results["duration_seconds"] = round(time.perf_counter() - started, 1)
    results["machine"] = machine_info(
        machine_before, database_url=args.database_url, redis_url=args.redis_url
    )
    return results


def fill_and_close(
    embedded: dict[str, str], close_counts: list[int], read_small: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """close_draw.py's fill (SQL) and close (own process per draw); every closed draw."""
    counts = sorted({read_small, *close_counts})
    start = time.perf_counter()
    draws = close_draw.run_worker(embedded, "--worker", "fill", payload=counts)
    fill_seconds = round(time.perf_counter() - start, 1)
    log(f"filled {len(draws)} draws ({', '.join(f'{n:,}' for n in counts)} ballots) in {fill_seconds} s")
    closes = []
    for draw in draws:
        load = os.getloadavg()[0]
        closed = close_draw.run_worker(
            embedded, "--worker", "close", "--draw-id", str(draw["draw_id"]), "--now", draw["closes_at"]
        )
        hwm = closed.get("vm_hwm_mib")
        if hwm is not None and closed["peak_rss_mib"] > hwm + 2:
            log(f"  warning: ru_maxrss {closed['peak_rss_mib']:.1f} MiB > VmHWM {hwm:.1f} MiB")
        log(
            f"closed {draw['ballots']:,} ballots in {closed['seconds']:.3f} s, "
            f"peak RSS {closed['peak_rss_mib']:.1f} MiB (load {load:.2f})"
        )
        closes.append({**draw, **closed, "fill_seconds": fill_seconds, "load1_before": round(load, 2)})
    return closes, draws


def sanity_checks(
    port: int, workdir: Path, setup: dict[str, Any], draws: list[dict[str, Any]]
) -> dict[str, Any]:
    """One request of each kind must succeed before any load is put on the service."""
    client = Client(port)
    token = (workdir / "tokens.txt").read_text().split()[0]
    try:
        status, body = client.request("GET", "/healthz")
        if status != 200:
            raise BenchError(f"GET /healthz: {status} {body[:300]!r}")
        status, body = client.request(
            "POST",
            "/api/v1/ballots/purchase",
            body=purchase_body(1, setup["sales_date"]),
            token=token,
            key="sanity-1",
        )
        if status != 201:
            raise BenchError(f"purchase: {status} {body[:500]!r}")
        purchase_ids = [b["id"] for b in json.loads(body)["ballots"]]
        ballot_id, token_index = (workdir / "assign_sanity.txt").read_text().split()
        assign_token = (workdir / "tokens.txt").read_text().split()[int(token_index)]
        status, body = client.request(
            "POST",
            f"/api/v1/ballots/{ballot_id}/assign",
            body={"draw": setup["assign_date"]},
            token=assign_token,
        )
        if status != 200:
            raise BenchError(f"assign: {status} {body[:500]!r}")
        read_bytes = {}
        for draw in draws:
            for suffix in ("", "/winners", "/proof"):
                path = f"/api/v1/draws/{draw['date']}{suffix}"
                status, body = client.request("GET", path)
                if status != 200:
                    raise BenchError(f"GET {path}: {status} {body[:300]!r}")
                read_bytes[path] = len(body)
    finally:
        client.close()
    log("sanity checks passed: healthz, purchase, assign and reads answer as they should")
    return {"purchase_ids": purchase_ids, "read_bytes": read_bytes}


def bulk_purchase(
    port: int, workdir: Path, draw_date: str, requests: int
) -> tuple[float, dict[str, Any], list[int]]:
    """1,000 ballots per request, one request at a time: the median latency of `requests`."""
    tokens = (workdir / "tokens.txt").read_text().split()
    client = Client(port)
    timings, ids = [], []
    load = os.getloadavg()[0]
    try:
        for attempt in range(requests + 1):  # the first one warms this connection and is not counted
            start = time.perf_counter()
            status, body = client.request(
                "POST",
                "/api/v1/ballots/purchase",
                body=purchase_body(1000, draw_date),
                token=tokens[attempt % len(tokens)],
                key=f"bulk-{attempt}-{secrets.token_hex(4)}",
            )
            elapsed_ms = (time.perf_counter() - start) * 1000
            if status != 201:
                raise BenchError(f"bulk purchase: {status} {body[:500]!r}")
            ballots = json.loads(body)["ballots"]
            if len(ballots) != 1000:
                raise BenchError(f"bulk purchase returned {len(ballots)} ballots")
            ids.extend(b["id"] for b in ballots)
            timings.append(elapsed_ms)
    finally:
        client.close()
    median = round(statistics.median(timings[1:]), 1)
    log(f"bulk purchase of 1,000 ballots: median {median} ms of {requests} (load {load:.2f})")
    detail = {
        "requests": requests,
        "runs_ms": [round(t, 1) for t in timings[1:]],
        "warmup_ms": round(timings[0], 1),
        "response_bytes": len(body),
        "load1_before": round(load, 2),
    }
    return median, detail, ids


def purchase_audit(
    database_url: str, draw_id: int, acknowledged: dict[str, list[int]], unparsed: int
) -> dict[str, Any]:
    """Every ballot acknowledged with a 201 must be in the draw (the old service lost 45 %)."""
    all_ids = [i for ids in acknowledged.values() for i in ids]
    unique = sorted(set(all_ids))
    present = db_execute(
        database_url,
        "SELECT count(*) FROM draws_ballot WHERE draw_id = %s AND id = ANY(%s)",
        params=[draw_id, unique],
    )[0][0]
    in_draw = db_execute(
        database_url, "SELECT count(*) FROM draws_ballot WHERE draw_id = %s", params=[draw_id]
    )[0][0]
    orders = db_execute(
        database_url, "SELECT count(*) FROM payments_order WHERE draw_id = %s", params=[draw_id]
    )[0][0]
    missing = len(unique) - present
    audit = {
        "acknowledged_ballots": len(all_ids),
        "acknowledged_by_run": {name: len(ids) for name, ids in acknowledged.items()},
        "duplicate_ids": len(all_ids) - len(unique),
        "missing_from_draw": missing,
        # A 201 whose receipt could not be read is counted as lost: it could not be checked.
        "unchecked_201": unparsed,
        "lost_ballots": missing + unparsed,
        "ballots_in_draw": in_draw,
        "orders_in_draw": orders,
        # Committed, but the client never saw the 201 (e.g. a client-side timeout): not lost.
        "in_draw_unacknowledged": in_draw - present,
    }
    level = "ok" if audit["lost_ballots"] == 0 and audit["duplicate_ids"] == 0 else "FAILED"
    log(
        f"purchase audit {level}: {len(unique):,} acknowledged ballots, {present:,} of them in the draw, "
        f"{in_draw:,} ballots in the draw in all"
    )
    return audit


def run_verify(lottery: str, base: str, draw: dict[str, Any]) -> dict[str, Any]:
    command = [
        lottery,
        "verify",
        draw["date"],
        "--url",
        base,
        "--commitment",
        draw["commitment"],
        "--timeout",
        "300",
    ]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    seconds = round(time.perf_counter() - start, 3)
    ok = completed.returncode == 0
    log(
        f"lottery verify {draw['date']} ({draw['ballots']:,} ballots): "
        f"{'ok' if ok else 'FAILED'} in {seconds} s"
    )
    if not ok:
        log(completed.stdout[-3000:] + completed.stderr[-3000:])
    return {"ballots": draw["ballots"], "date": draw["date"], "seconds": seconds, "ok": ok}


def gunicorn_settings(env: dict[str, str]) -> dict[str, Any]:
    """The settings `lottery web` runs with: config/gunicorn.py read in the service's environment."""
    probe = (
        "import json, config.gunicorn as g; print(json.dumps({k: getattr(g, k) for k in "
        "('workers', 'threads', 'worker_class', 'bind', 'max_requests', 'keepalive')}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return dict(json.loads(completed.stdout))


def stack_settings(env: dict[str, str], plan: Plan, port: int) -> dict[str, Any]:
    return {
        "gunicorn": gunicorn_settings(env),
        "plan": dict(plan.__dict__),
        "wrk_timeout": WRK_TIMEOUT,
        "lottery_env": env["LOTTERY_ENV"],
        "redis_url": env["REDIS_URL"],
    }


# --- machine --------------------------------------------------------------------------------------


def _command_output(command: list[str]) -> str:
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    return (
        (completed.stdout or completed.stderr).strip().splitlines()[0]
        if (completed.stdout or completed.stderr)
        else ""
    )


def machine_info(before: dict[str, Any], *, database_url: str, redis_url: str) -> dict[str, Any]:
    cpu_model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    mem_total = None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = round(int(line.split()[1]) / 1024 / 1024, 1)
    versions: dict[str, str | None] = {"python": platform.python_version(), "kernel": platform.release()}
    for package in ("django", "djangorestframework", "gunicorn", "psycopg", "celery", "redis"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    try:
        versions["postgresql"] = db_execute(database_url, "SHOW server_version")[0][0]
    except Exception as exc:
        versions["postgresql"] = f"unavailable ({type(exc).__name__})"
    try:
        import redis

        client = redis.Redis.from_url(redis_url)
        versions["redis_server"] = client.info("server").get("redis_version")
        client.close()
    except Exception as exc:
        versions["redis_server"] = f"unavailable ({type(exc).__name__})"
    versions["wrk"] = _command_output([tool("wrk"), "-v"])
    versions["pgbench"] = _command_output([tool("pgbench"), "--version"])
    versions["git_commit"] = _command_output(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gib": mem_total,
        "load_before": [round(x, 2) for x in before["load_before"]],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


# --- report ------------------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue P5 against this run; `met` is None where this run cannot tell."""
    floor = results["floor"]["healthz_rps"]
    rows: list[dict[str, Any]] = []

    def add(name: str, value: str, target: str, met: bool | None, ratio: float | None = None) -> None:
        rows.append({"name": name, "value": value, "target": target, "met": met, "ratio_to_floor": ratio})

    def rate(result: dict[str, Any]) -> str:
        return (
            f"{result['rps']:,.0f} req/s, p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"{result['errors']} errors"
        )

    add("floor: GET /healthz, 64 conn", f"{floor:,.0f} req/s", "(the floor)", None, 1.0)
    add(
        "floor: pgbench single-row INSERT",
        f"{results['floor']['pg_insert_tps']:,.0f} tps",
        "(the floor)",
        None,
    )
    purchase = results["purchase"]
    c16, c64 = purchase["c16"], purchase["c64"]
    add("purchase 1 ballot, 16 conn", rate(c16), "(no target)", None, round(c16["rps"] / floor, 3))
    add(
        "purchase 1 ballot, 64 conn: rate",
        rate(c64),
        f">= {FLOOR_SHARE_WRITE:.0%} of floor (>= {FLOOR_SHARE_WRITE * floor:,.0f} req/s)",
        c64["rps"] >= FLOOR_SHARE_WRITE * floor,
        round(c64["rps"] / floor, 3),
    )
    add("purchase 1 ballot, 64 conn: p99", f"{c64['p99_ms']:.1f} ms", "<= 100 ms", c64["p99_ms"] <= 100)
    add(
        "purchase, 16 + 64 conn: errors",
        f"{c16['errors']} + {c64['errors']}",
        "0",
        c16["errors"] == 0 and c64["errors"] == 0,
    )
    add(
        "purchase: acknowledged ballots lost",
        str(purchase["lost_ballots"]),
        "0",
        purchase["lost_ballots"] == 0,
    )
    bulk = results["bulk_purchase_1000_ms"]
    add("purchase 1,000 ballots in 1 request", f"{bulk:.1f} ms (median)", "<= 100 ms", bulk <= 100)
    assign = results["assign"]["c64"]
    add(
        "assign a ballot, 64 conn",
        rate(assign),
        f">= {FLOOR_SHARE_WRITE:.0%} of floor (>= {FLOOR_SHARE_WRITE * floor:,.0f} req/s)",
        assign["rps"] >= FLOOR_SHARE_WRITE * floor and assign["errors"] == 0,
        round(assign["rps"] / floor, 3),
    )
    read = results["read_closed"]
    small = read["small"]
    for endpoint in ("detail", "winners", "proof"):
        big_result, small_result = read["c64"][endpoint], small["c64"][endpoint]
        add(
            f"read closed draw, {endpoint}, {read['ballots']:,} ballots, 64 conn",
            f"{rate(big_result)}, {big_result['bytes']:,} B",
            f">= {FLOOR_SHARE_READ:.0%} of floor (>= {FLOOR_SHARE_READ * floor:,.0f} req/s)",
            big_result["rps"] >= FLOOR_SHARE_READ * floor and big_result["errors"] == 0,
            round(big_result["rps"] / floor, 3),
        )
        # Only the numbers' digits may differ (winners' ids and indexes, the ballot count:
        # a few bytes per factor of 10 in N); anything that listed ballots would grow a thousandfold.
        size_flat = abs(big_result["bytes"] - small_result["bytes"]) <= 0.05 * small_result["bytes"]
        time_flat = big_result["rps"] >= 0.8 * small_result["rps"]
        add(
            f"  same, {small['ballots']:,} ballots (size, time independent of N)",
            f"{rate(small_result)}, {small_result['bytes']:,} B",
            "bytes within 5 % (digits), req/s of the big draw >= 80 % of the small one's",
            size_flat and time_flat,
            round(small_result["rps"] / floor, 3),
        )
    by_count = {c["ballots"]: c for c in results["close"]}
    for row in results["close"]:
        n = row["ballots"]
        value = f"{row['seconds']:.3f} s, {row['peak_rss_mib']:.1f} MiB"
        if n == 1_000_000:
            add(
                f"close {n:,} ballots",
                value,
                "<= 2 s, <= 120 MiB",
                row["seconds"] <= 2 and row["peak_rss_mib"] <= 120,
            )
        elif n == 10_000_000:
            at_1m = by_count.get(1_000_000)
            flat = at_1m is not None and row["peak_rss_mib"] <= max(120, at_1m["peak_rss_mib"] * 1.1)
            add(
                f"close {n:,} ballots",
                value,
                "<= 20 s, <= 120 MiB (flat in N)",
                row["seconds"] <= 20 and row["peak_rss_mib"] <= 120 and flat,
            )
        else:
            add(f"close {n:,} ballots", value, "(no target)", None)
    if 10_000_000 not in by_count:
        add("close 10,000,000 ballots", "not run (--huge)", "<= 20 s, <= 120 MiB", None)
    for check in results["verify"]:
        if check["ballots"] == 1_000_000:
            add(
                "lottery verify, 1,000,000 ballots",
                f"{check['seconds']:.3f} s{'' if check['ok'] else ', FAILED'}",
                "<= 3 s",
                check["ok"] and check["seconds"] <= 3,
            )
    failed = [c for c in results["verify"] if not c["ok"]]
    add(
        "lottery verify of every closed draw",
        f"{len(results['verify']) - len(failed)}/{len(results['verify'])} pass",
        "all pass",
        not failed,
    )
    end = results["floor"]["healthz_end_rps"]
    add(
        "floor again at the end: GET /healthz",
        f"{end:,.0f} req/s",
        "(drift check)",
        None,
        round(end / floor, 3),
    )
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    header = ["workload", "measured", "target", "÷ floor", "status"]
    body = []
    for row in rows:
        status = {True: "met", False: "**MISSED**", None: "—"}[row["met"]]
        ratio = f"{row['ratio_to_floor']:.2f}" if row["ratio_to_floor"] is not None else ""
        body.append([row["name"], row["value"], row["target"], ratio, status])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), separator, *(line(r) for r in body)])


def write_chart(results: dict[str, Any], path: Path) -> None:
    """Close time and peak RSS against the ballot count, log-log, with the targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    rows = sorted(results["close"], key=lambda r: r["ballots"])
    counts = [r["ballots"] for r in rows]
    seconds = [r["seconds"] for r in rows]
    peaks = [r["peak_rss_mib"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4), dpi=110)
    left.loglog(counts, seconds, "o-", color="tab:blue", label="close, wall time")
    left.loglog(
        [1_000_000, 10_000_000], [2, 20], "x--", color="tab:red", label="target: 2 s at 1M, 20 s at 10M"
    )
    left.set_ylabel("seconds")
    left.set_title("Close time (proof computed)")
    right.loglog(counts, peaks, "o-", color="tab:green", label="peak RSS of the closing process")
    right.axhline(120, color="tab:red", linestyle="--", label="target: 120 MiB")
    right.set_ylim(10, 1000)
    right.set_ylabel("MiB")
    right.set_title("Peak memory (RSS)")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    for axis, values, unit in ((left, seconds, "s"), (right, peaks, "MiB")):
        axis.set_xlabel("ballots in the draw")
        axis.set_xlim(min(counts) / 2, max(10_000_000, max(counts)) * 2)
        axis.yaxis.set_major_formatter(plain)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(loc="upper left", fontsize=8)
        for x, y in zip(counts, values, strict=True):
            axis.annotate(f"{y:.3g} {unit}", (x, y), textcoords="offset points", xytext=(6, -12), fontsize=8)
    load = results["machine"]["load_before"][0]
    fig.suptitle(
        f"make bench {results['timestamp']}  ·  {results['machine']['nproc']} CPUs"
        f"  ·  load {load:.2f} before",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(results: dict[str, Any], args: argparse.Namespace) -> Path:
    rows = targets(results)
    results["targets"] = rows
    stamp = results["timestamp"].replace("-", "").replace(":", "")
    RESULTS_DIR.mkdir(exist_ok=True)
    json_path = RESULTS_DIR / f"{stamp}.json"
    png_path = RESULTS_DIR / f"{stamp}.png"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    write_chart(results, png_path)
    if args.docs_chart:
        shutil.copyfile(png_path, DOCS_CHART)
    machine = results["machine"]
    print()
    print(
        f"make bench{' --quick' if results['quick'] else ''}{' --huge' if results['huge'] else ''}"
        f" · {results['timestamp']} · {machine['nproc']} CPUs ({machine['cpu_model']}),"
        f" {machine['memory_gib']} GiB · load {machine['load_before']} before,"
        f" {machine['load_after']} after · {results['duration_seconds']:.0f} s"
    )
    print()
    print(markdown_table(rows))
    missed = [r["name"] for r in rows if r["met"] is False]
    print()
    print(f"{len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""))
    print(f"results: {json_path.relative_to(ROOT)}, chart: {png_path.relative_to(ROOT)}")
    if args.docs_chart:
        print(f"chart copied to {DOCS_CHART.relative_to(ROOT)}")
    return json_path


# --- entry point ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="make bench: the P5 workloads against the production processes."
    )
    parser.add_argument("--quick", action="store_true", help="short runs and smaller draws, for development")
    parser.add_argument("--huge", action="store_true", help="also close a 10,000,000-ballot draw (minutes)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="admin connection; its user must be allowed to create databases (BENCH_DATABASE_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        help="cache and broker of the service; this Redis database is FLUSHED (BENCH_REDIS_URL)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="gunicorn's port on 127.0.0.1 (default: a free one)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the work dir (process logs, wrk output)"
    )
    parser.add_argument(
        "--docs-chart", action="store_true", help=f"copy the chart to {DOCS_CHART.relative_to(ROOT)}"
    )
    parser.add_argument("--worker", choices=["setup"], help=argparse.SUPPRESS)
    return parser


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: everything is stopped


def main() -> int:
    args = build_parser().parse_args()
    if args.worker == "setup":
        print(json.dumps(worker_setup(json.loads(sys.stdin.read()))))
        return 0
    if urllib.parse.urlsplit(args.database_url).scheme not in ("postgres", "postgresql"):
        raise SystemExit("--database-url must be a PostgreSQL URL")
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    tool("wrk")  # fail before creating anything
    tool("pgbench")
    try:
        results = run_bench(args)
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1
    report(results, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
