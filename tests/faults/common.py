"""Helpers shared by the fault-injection tests (tests/faults): prerequisites, purchases, SQL checks."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.harness import (
    HarnessError,
    HttpResponse,
    ProductionStack,
    postgres_bin_dir,
    smoke_prerequisites,
    wait_for,
)

CARD = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}
# Small and quick: two gunicorn workers, a worker of two processes, a one-second tick.
STACK = {"gunicorn_workers": 2, "worker_args": ("--concurrency=2",), "tick_seconds": 1.0}
# First key of the draw lock (lottery/draws/locks.py: 0x4C4F54, "LOT").
DRAW_LOCK_NAMESPACE = 0x4C4F54


def fault_prerequisites(environ: Mapping[str, str] | None = None) -> tuple[str, str] | str:
    """(DATABASE_URL, REDIS_URL) when the shared servers answer and the binaries for private
    ones (initdb/pg_ctl, redis-server) exist; else why not (a skip reason). Under CI=true a
    missing binary raises instead: CI must not skip silently."""
    environ = os.environ if environ is None else environ
    found = smoke_prerequisites(environ)
    if isinstance(found, str):
        return found
    missing = []
    if postgres_bin_dir() is None:
        missing.append("PostgreSQL server binaries (initdb, pg_ctl: /usr/lib/postgresql/*/bin or PG_BIN_DIR)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server on PATH")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a `postgres` OS user (initdb refuses to run as root)")
    if missing:
        reason = "fault tests start private servers and need " + "; ".join(missing)
        if environ.get("CI") == "true":
            raise HarnessError(reason)
        return reason
    return found


def open_draws(stack: ProductionStack, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
    """The open draws, soonest to close first, once beat and the worker created at least `count`."""

    def found() -> list[dict[str, Any]] | None:
        rows = stack.sql(
            "SELECT id, date, closes_at FROM draws_draw WHERE status = 'open' ORDER BY closes_at"
        )
        draws = [{"id": r[0], "date": r[1].isoformat(), "closes_at": r[2]} for r in rows]
        return draws if len(draws) >= count else None

    return wait_for(found, timeout=timeout, message=f"{count} open draws")


def make_due(stack: ProductionStack, date: str, seconds: float = 1.0) -> None:
    """Let a draw fall due `seconds` from now (the simulated clock: only closes_at moves)."""
    stack.sql(
        "UPDATE draws_draw SET closes_at = now() + make_interval(secs => %s) WHERE date = %s",
        [seconds, date],
    )


def draw_status(stack: ProductionStack, date: str) -> str:
    [(status,)] = stack.sql("SELECT status FROM draws_draw WHERE date = %s", [date])
    return str(status)


def purchase(
    stack: ProductionStack,
    token: str,
    *,
    draw: str | None,
    quantity: int = 1,
    key: str | None = None,
    timeout: float = 15,
) -> HttpResponse:
    headers = {"Idempotency-Key": key} if key else {}
    body: dict[str, Any] = {"quantity": quantity, "payment": CARD}
    if draw:
        body["draw"] = draw
    return stack.http(
        "POST", "/api/v1/ballots/purchase", json=body, token=token, headers=headers, timeout=timeout
    )


def new_key(prefix: str = "fault") -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


def is_problem(response: HttpResponse) -> bool:
    """An RFC 9457 problem+json body with our stable code and the response's status."""
    if not (response.header("Content-Type") or "").startswith("application/problem+json"):
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and bool(body.get("code")) and body.get("status") == response.status


def order_integrity_problems(stack: ProductionStack) -> list[str]:
    """Orders whose ballots are not exactly `quantity` (or sit in another draw), ballots without
    their order, and idempotency keys used by more than one order: each is a lost or
    half-written purchase. Empty when all is well."""
    problems = []
    for order_id, quantity, ballots in stack.sql(
        "SELECT o.id, o.quantity, count(b.id) FROM payments_order o "
        "LEFT JOIN draws_ballot b ON b.order_id = o.id GROUP BY o.id HAVING count(b.id) <> o.quantity"
    ):
        problems.append(f"order {order_id}: {ballots} ballots for quantity {quantity}")
    for (count,) in stack.sql(
        "SELECT count(*) FROM draws_ballot b LEFT JOIN payments_order o ON o.id = b.order_id "
        "WHERE o.id IS NULL HAVING count(*) > 0"
    ):
        problems.append(f"{count} ballots without an order")
    for order_id, ballot_id in stack.sql(
        "SELECT o.id, b.id FROM payments_order o JOIN draws_ballot b ON b.order_id = o.id "
        "WHERE o.draw_id IS NOT NULL AND b.draw_id IS DISTINCT FROM o.draw_id LIMIT 5"
    ):
        problems.append(f"ballot {ballot_id} is not in the draw its order {order_id} paid for")
    for user_id, key, count in stack.sql(
        "SELECT user_id, idempotency_key, count(*) FROM payments_order "
        "WHERE idempotency_key IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1"
    ):
        problems.append(f"idempotency key {key} of user {user_id}: {count} orders")
    return problems


def late_ballot_problems(stack: ProductionStack) -> list[str]:
    """Ballots that entered a draw at or after its closes_at, or after it was closed."""
    rows = stack.sql(
        "SELECT b.id, d.date, b.assigned_at, d.closes_at, d.closed_at FROM draws_ballot b "
        "JOIN draws_draw d ON d.id = b.draw_id "
        "WHERE b.assigned_at >= d.closes_at OR (d.closed_at IS NOT NULL AND b.assigned_at >= d.closed_at) "
        "LIMIT 10"
    )
    return [f"ballot {r[0]} entered draw {r[1]} at {r[2]} (closes_at {r[3]}, closed_at {r[4]})" for r in rows]


def outbox_message_ids(
    stack: ProductionStack, key_like: str = "%", *, sent: bool | None = None
) -> dict[str, int]:
    """Message-ID → outbox row id (rows whose key is LIKE `key_like`; with `sent`, only the rows
    marked sent or only those not), as lottery.core.models.OutboxEmail.message_id makes them."""
    query = "SELECT id, key FROM core_outboxemail WHERE key LIKE %s"
    if sent is not None:
        query += " AND sent_at IS NOT NULL" if sent else " AND sent_at IS NULL"
    rows = stack.sql(query, [key_like])
    return {f"<outbox-{pk}.{key.replace(':', '-')}@lottery>": pk for pk, key in rows}


def received_message_ids(stack: ProductionStack) -> list[str]:
    return [str(m.message["Message-ID"] or "").strip() for m in stack.smtp.messages()]


@dataclass
class Outcome:
    """One request of the background load."""

    kind: str
    started: float  # time.monotonic()
    elapsed: float
    status: int | None  # None: no HTTP answer at all (exception)
    problem: bool = False
    error: str = ""
    key: str | None = None
    token: str | None = None


@dataclass
class BackgroundLoad:
    """A few client threads: purchases (each with its own Idempotency-Key), public and private
    reads, the home page; every request with a bounded timeout. Records each outcome."""

    stack: ProductionStack
    players: list[dict[str, Any]]
    draw: str
    threads: int = 4
    timeout: float = 10.0
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        for index in range(self.threads):
            thread = threading.Thread(target=self._run, args=(index,), name=f"load-{index}", daemon=True)
            self._workers.append(thread)
            thread.start()

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._workers:
            thread.join(self.timeout + 5)
        return list(self.outcomes)

    def _run(self, index: int) -> None:
        player = self.players[index % len(self.players)]
        kinds = ["buy", "draw", "ballots", "home", "buy", "draws"]
        step = index
        while not self._stop.is_set():
            kind = kinds[step % len(kinds)]
            step += 1
            key = new_key("load") if kind == "buy" else None
            started = time.monotonic()
            outcome = Outcome(kind, started, 0.0, None, key=key, token=player["token"])
            try:
                response = self._request(kind, player["token"], key)
                outcome.status = response.status
                outcome.problem = is_problem(response)
            except Exception as exc:  # a refused connection, a reset, a timeout: no answer at all
                outcome.error = f"{type(exc).__name__}: {exc}"
            outcome.elapsed = time.monotonic() - started
            with self._lock:
                self.outcomes.append(outcome)
            if outcome.status is None:
                time.sleep(0.1)

    def _request(self, kind: str, token: str, key: str | None) -> HttpResponse:
        http = self.stack.http
        if kind == "buy":
            return purchase(self.stack, token, draw=self.draw, key=key, timeout=self.timeout)
        if kind == "draw":
            return http("GET", f"/api/v1/draws/{self.draw}", timeout=self.timeout)
        if kind == "draws":
            return http("GET", "/api/v1/draws?status=open", timeout=self.timeout)
        if kind == "ballots":
            return http("GET", "/api/v1/ballots", token=token, timeout=self.timeout)
        return http("GET", "/", headers={"Accept": "text/html"}, timeout=self.timeout)


def retry_purchase(
    stack: ProductionStack, token: str, *, draw: str, key: str, attempts: int = 10
) -> HttpResponse:
    """Retry a purchase with the same Idempotency-Key until it gets an answer that is not 5xx."""
    response = None
    for _ in range(attempts):
        with contextlib.suppress(OSError):
            response = purchase(stack, token, draw=draw, key=key)
            if response.status < 500:
                return response
        time.sleep(0.5)
    raise HarnessError(f"purchase with key {key} still fails after {attempts} attempts: {response!r}")


def supervise(stack: ProductionStack) -> list[str]:
    """Do what the deployments' process supervisor does (compose `restart: unless-stopped`, a
    Kubernetes Deployment): start again each Celery worker or beat that exited on its own.
    Returns what had crashed ("name (exit code)"), for the test to report."""
    crashed = []
    for name, process in list(stack.processes.items()):
        if process.ended_on_purpose or process.running or not name.startswith(("worker", "beat")):
            continue
        code = process.popen.returncode if process.popen else None
        crashed.append(f"{name} (exit {code})")
        process.ended_on_purpose = True
        again = f"{name}-restarted"
        if name.startswith("worker"):
            stack.start_worker(again)
        else:
            stack.start_beat(again)
    return crashed
