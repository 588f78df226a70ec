"""`make soak`: a bounded soak of the production processes with mixed traffic while draws close.

    PYTHONPATH=. .venv/bin/python bench/soak.py [--duration 120] [--connections 64] [--close-every 20]

What runs (tests/harness.py's ProductionStack, as README's Production section): a fresh
PostgreSQL database on SOAK_DATABASE_URL's server (default DATABASE_URL, else
postgres://postgres@127.0.0.1:5432/postgres; dropped at the end), Redis db SOAK_REDIS_URL
(default redis://127.0.0.1:6379/13 — **flushed** before and after), gunicorn (`lottery web`,
production's default worker count: 2 x CPUs + 1), a Celery worker, Celery beat (a one-second
tick) and an SMTP sink on loopback.

The load (an asyncio client on 127.0.0.1, keep-alive HTTP/1.1, `--connections` concurrent
loops, each as one of `--players` verified players with a bearer token) is a mix of
browsing (open draws, a draw, the winners and proof of closed draws, the home page, my
ballots), buying (1 to 3 ballots into the current draw, each with its own Idempotency-Key;
sometimes unassigned ones) and assigning those unassigned ballots to the current draw.
Every `--close-every` seconds the current draw is made due (its closes_at moved to now by
SQL) and the load moves on to the next one; beat and the worker close it. Requests racing
a close get 409 draw_closed: designed, as are 429s.

At the end every draw the load touched is closed, then checked: every ballot acknowledged
with a 2xx is in its draw's ballots.txt (lost = 0), no ballot entered a draw at or after
its closes_at/closed_at (late = 0), every order has exactly its ballots. The resident
memory of each gunicorn worker is sampled every `--sample-every` seconds; stable means the
workers' total in the last quarter of the samples is within 10 % of the first quarter (the
samples after a `--warmup` of 10 s, in which the workers import and warm their caches).

Prints a summary and writes bench/results/soak-<UTC timestamp>.json; exits 1 if any error,
lost or late ballot, broken order or unstable memory was seen.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from tests.harness import ProductionStack, rss_bytes, wait_for  # noqa: E402

CARD = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}
MIB = 1024 * 1024
DESIGNED = {(409, "draw_closed"), (429, "rate_limited")}
REQUEST_TIMEOUT = 30.0
MEMORY_GROWTH_LIMIT = 0.10


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- a small keep-alive HTTP/1.1 client ---------------------------------------------------------


class Stale(Exception):
    """A reused keep-alive connection was closed before any byte of the answer: the server
    never read the request (it closes idle connections only), so resending it is safe."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def code(self) -> str:
        if self.headers.get("content-type", "").startswith("application/problem+json"):
            try:
                return str(self.json().get("code", ""))
            except ValueError:
                return ""
        return ""


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.stale_retries = 0

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, *, token: str | None = None, body: Any = None, key: str | None = None
    ) -> Answer:
        payload = json.dumps(body).encode() if body is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            "Host: 127.0.0.1",
            "X-Forwarded-Proto: https",  # as the TLS-terminating proxy sends it
            "Accept: application/json" if path.startswith("/api/") else "Accept: text/html",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            lines.append("Content-Type: application/json")
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if key:
            lines.append(f"Idempotency-Key: {key}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + payload
        for attempt in range(2):
            reused = self.writer is not None
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await asyncio.wait_for(self._exchange(raw, reused), REQUEST_TIMEOUT)
            except Stale:
                await self.close()
                self.stale_retries += 1
                if attempt:
                    raise
            except BaseException:
                await self.close()
                raise
        raise AssertionError("unreachable")

    async def _exchange(self, raw: bytes, reused: bool) -> Answer:
        assert self.reader is not None and self.writer is not None
        try:
            self.writer.write(raw)
            await self.writer.drain()
            status_line = await self.reader.readline()
        except (ConnectionResetError, BrokenPipeError) as exc:
            if reused:
                raise Stale() from exc
            raise
        if not status_line:
            if reused:
                raise Stale()
            raise ConnectionError("connection closed before the answer")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            body = b"".join(chunks)
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, headers, body)


# --- the soak ---------------------------------------------------------------------------------------


@dataclass
class Player:
    id: int
    email: str
    token: str
    unassigned: list[int] = field(default_factory=list)


@dataclass
class State:
    """What the load shares: the draw it buys into, the acknowledgements, the counters."""

    current: dict[str, Any]
    upcoming: list[dict[str, Any]]
    closed_dates: list[str] = field(default_factory=list)
    acked: dict[str, set[int]] = field(default_factory=lambda: collections.defaultdict(set))
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    designed: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    error_examples: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    requests: int = 0
    closes: list[dict[str, Any]] = field(default_factory=list)

    def record(self, kind: str, answer: Answer | None, elapsed: float, error: str = "") -> str:
        """Count one outcome; returns "ok", "designed" or "error"."""
        self.requests += 1
        self.latencies[kind].append(elapsed)
        if answer is None:
            self.errors[f"{kind}: {error.split(':')[0]}"] += 1
            self._example(f"{kind}: {error}")
            return "error"
        self.statuses[f"{kind} {answer.status}"] += 1
        if 200 <= answer.status < 300:
            return "ok"
        if (answer.status, answer.code) in DESIGNED:
            self.designed[f"{answer.status} {answer.code}"] += 1
            return "designed"
        self.errors[f"{kind}: {answer.status} {answer.code}"] += 1
        self._example(f"{kind}: {answer.status} {answer.body[:200]!r}")
        return "error"

    def _example(self, text: str) -> None:
        if len(self.error_examples) < 20:
            self.error_examples.append(text)


async def client_loop(state: State, player: Player, port: int, deadline: float, rng: random.Random) -> int:
    connection = Connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline:
            roll = rng.random()
            if roll < 0.40:
                await browse(state, connection, player, rng)
            elif roll < 0.75 or not player.unassigned:
                await buy(state, connection, player, rng)
            else:
                await assign(state, connection, player)
    finally:
        await connection.close()
    return connection.stale_retries


async def timed(
    state: State, kind: str, connection: Connection, *args: Any, **kwargs: Any
) -> tuple[Answer | None, str]:
    started = time.monotonic()
    try:
        answer = await connection.request(*args, **kwargs)
    except Exception as exc:
        state.record(kind, None, time.monotonic() - started, f"{type(exc).__name__}: {exc}")
        return None, "error"
    return answer, state.record(kind, answer, time.monotonic() - started)


async def browse(state: State, connection: Connection, player: Player, rng: random.Random) -> None:
    closed = state.closed_dates[-3:]
    choices = [
        ("browse:draws", "/api/v1/draws?status=open", None),
        ("browse:draw", f"/api/v1/draws/{state.current['date']}", None),
        ("browse:home", "/", None),
        ("browse:my-ballots", "/api/v1/ballots", player.token),
    ]
    if closed:
        date = rng.choice(closed)
        choices += [
            ("browse:winners", f"/api/v1/draws/{date}/winners", None),
            ("browse:proof", f"/api/v1/draws/{date}/proof", None),
        ]
    kind, path, token = rng.choice(choices)
    await timed(state, kind, connection, "GET", path, token=token)


async def buy(state: State, connection: Connection, player: Player, rng: random.Random) -> None:
    unassigned = not player.unassigned or rng.random() < 0.15
    date = state.current["date"]
    body: dict[str, Any] = {"quantity": 5 if unassigned else rng.randint(1, 3), "payment": CARD}
    if not unassigned:
        body["draw"] = date
    key = f"soak-{secrets.token_hex(8)}"
    kind = "buy:unassigned" if unassigned else "buy"
    answer, outcome = await timed(
        state, kind, connection, "POST", "/api/v1/ballots/purchase", token=player.token, body=body, key=key
    )
    if outcome == "ok" and answer is not None:
        for ballot in answer.json()["ballots"]:
            if ballot["draw"] is None:
                player.unassigned.append(ballot["id"])
            else:
                state.acked[ballot["draw"]].add(ballot["id"])


async def assign(state: State, connection: Connection, player: Player) -> None:
    ballot_id = player.unassigned.pop()
    date = state.current["date"]
    answer, outcome = await timed(
        state,
        "assign",
        connection,
        "POST",
        f"/api/v1/ballots/{ballot_id}/assign",
        token=player.token,
        body={"draw": date},
    )
    if outcome == "ok" and answer is not None:
        state.acked[answer.json()["draw"]].add(ballot_id)
    elif answer is not None and answer.code == "draw_closed":
        player.unassigned.append(ballot_id)  # still unassigned: use it in the next draw


async def closer(state: State, stack: ProductionStack, every: float, deadline: float) -> None:
    """Every `every` s: make the current draw due now, move the load to the next draw."""
    while True:
        await asyncio.sleep(min(every, max(0.0, deadline - time.monotonic())))
        if time.monotonic() >= deadline:
            return
        target = state.current
        await asyncio.to_thread(
            stack.sql, "UPDATE draws_draw SET closes_at = now() WHERE id = %s", [target["id"]]
        )
        state.current = state.upcoming.pop(0)
        due = time.monotonic()
        asyncio.get_running_loop().create_task(watch_close(state, stack, target, due))


async def watch_close(state: State, stack: ProductionStack, draw: dict[str, Any], due: float) -> None:
    while True:
        [(status,)] = await asyncio.to_thread(
            stack.sql, "SELECT status FROM draws_draw WHERE id = %s", [draw["id"]]
        )
        if status == "closed":
            state.closes.append(
                {"date": draw["date"], "seconds_due_to_closed": round(time.monotonic() - due, 2)}
            )
            state.closed_dates.append(draw["date"])
            return
        await asyncio.sleep(0.2)


async def sampler(
    stack: ProductionStack, every: float, deadline: float, samples: list[dict[str, Any]]
) -> None:
    began = time.monotonic()
    while time.monotonic() < deadline:
        pids = stack.gunicorn_worker_pids()
        rss = {str(pid): value for pid in pids if (value := rss_bytes(pid)) is not None}
        samples.append({"t": round(time.monotonic() - began, 1), "rss": rss})
        await asyncio.sleep(every)


def memory_report(all_samples: list[dict[str, Any]], warmup: float) -> dict[str, Any]:
    """Total RSS of the gunicorn workers: the first quarter of the samples after the warm-up
    (imports, first queries) against the last quarter."""
    samples = [s for s in all_samples if s["t"] >= warmup and s["rss"]] or all_samples
    totals = [sum(s["rss"].values()) / MIB for s in samples]
    quarter = max(1, len(totals) // 4)
    first, last = statistics.mean(totals[:quarter]), statistics.mean(totals[-quarter:])
    pids_seen = {pid for s in samples for pid in s["rss"]}
    steady = set(samples[0]["rss"]) & set(samples[-1]["rss"])
    per_worker = {
        pid: {
            "first_mib": round(samples[0]["rss"][pid] / MIB, 1),
            "last_mib": round(samples[-1]["rss"][pid] / MIB, 1),
        }
        for pid in sorted(steady)
    }
    growth = (last - first) / first if first else 0.0
    return {
        "samples": len(all_samples),
        "warmup_s": warmup,
        "analysed_samples": len(samples),
        "workers_total_first_quarter_mib": round(first, 1),
        "workers_total_last_quarter_mib": round(last, 1),
        "growth": round(growth, 4),
        "stable": growth <= MEMORY_GROWTH_LIMIT,
        "worker_pids_seen": len(pids_seen),
        "workers_replaced": len(pids_seen) - len(samples[0]["rss"]),
        "per_worker": per_worker,
        "series_mib": [[s["t"], round(sum(s["rss"].values()) / MIB, 1)] for s in all_samples],
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def run_load(
    args: argparse.Namespace, stack: ProductionStack, players: list[Player], draws: list[dict]
) -> tuple[State, list[dict], int, float]:
    state = State(current=draws[0], upcoming=draws[1:])
    samples: list[dict[str, Any]] = []
    began = time.monotonic()
    deadline = began + args.duration
    rng = random.Random(args.seed)
    clients = [
        client_loop(state, players[i % len(players)], stack.web_port, deadline, random.Random(rng.random()))
        for i in range(args.connections)
    ]
    background = [
        asyncio.create_task(closer(state, stack, args.close_every, deadline)),
        asyncio.create_task(sampler(stack, args.sample_every, deadline, samples)),
    ]
    stale = sum(await asyncio.gather(*clients))
    elapsed = time.monotonic() - began
    await asyncio.gather(*background)
    return state, samples, stale, elapsed


def finish_and_audit(stack: ProductionStack, state: State) -> dict[str, Any]:
    """Close every draw the load touched, then check each acknowledged ballot and every order."""
    touched = sorted(set(state.acked) | {state.current["date"]})
    for date in touched:
        stack.sql("UPDATE draws_draw SET closes_at = LEAST(closes_at, now()) WHERE date = %s", [date])
    wait_for(
        lambda: all(
            stack.sql("SELECT status FROM draws_draw WHERE date = %s", [d])[0][0] == "closed" for d in touched
        ),
        timeout=120,
        interval=0.5,
        message="beat to close every draw of the soak",
    )
    lost: dict[str, list[int]] = {}
    unacknowledged = 0
    listed_total = 0
    for date, ids in sorted(state.acked.items()):
        listed_text = stack.http("GET", f"/api/v1/draws/{date}/ballots.txt", timeout=120)
        assert listed_text.status == 200, listed_text
        listed = {int(line) for line in listed_text.text.split()}
        listed_total += len(listed)
        missing = sorted(ids - listed)
        if missing:
            lost[date] = missing[:20]
        unacknowledged += len(listed - ids)
    late = stack.sql(
        "SELECT count(*) FROM draws_ballot b JOIN draws_draw d ON d.id = b.draw_id "
        "WHERE b.assigned_at >= d.closes_at OR b.assigned_at >= d.closed_at"
    )[0][0]
    broken_orders = stack.sql(
        "SELECT count(*) FROM (SELECT o.id FROM payments_order o "
        "LEFT JOIN draws_ballot b ON b.order_id = o.id "
        "GROUP BY o.id HAVING count(b.id) <> o.quantity) AS broken"
    )[0][0]
    [(orders, ballots)] = stack.sql(
        "SELECT (SELECT count(*) FROM payments_order), (SELECT count(*) FROM draws_ballot)"
    )
    closed = stack.sql(
        "SELECT count(*) FROM draws_draw WHERE status = 'closed' AND date = ANY(%s)", [touched]
    )[0][0]
    return {
        "draws_closed": closed,
        "acknowledged_ballots": sum(len(ids) for ids in state.acked.values()),
        "listed_ballots": listed_total,
        "lost_ballots": sum(len(v) for v in lost.values()),
        "lost_examples": lost,
        "in_draw_unacknowledged": unacknowledged,
        "late_ballots": late,
        "orders": orders,
        "ballots": ballots,
        "orders_without_exactly_their_ballots": broken_orders,
    }


def soak(args: argparse.Namespace) -> dict[str, Any]:
    database_url = args.database_url
    closes = int(args.duration // args.close_every) + 3
    stack = ProductionStack(
        database_url=database_url,
        redis_url=args.redis_url,
        gunicorn_workers=args.gunicorn_workers,
        worker_args=("--concurrency=2",),
        tick_seconds=1.0,
        extra_env={"LOTTERY_DRAWS_AHEAD_DAYS": str(max(7, closes + 2))},
    )
    log(f"starting the stack (PostgreSQL {database_url.rsplit('@', 1)[-1]}, Redis {args.redis_url})")
    with stack:
        log(f"stack up in {stack.timings['ready']:.1f} s; {args.gunicorn_workers} gunicorn workers")
        players = [Player(**p) for p in stack.create_players(args.players, "soak")]

        def open_draws() -> list[dict[str, Any]] | None:
            rows = stack.sql(
                "SELECT id, date FROM draws_draw WHERE status = 'open' AND closes_at > now() "
                "ORDER BY closes_at"
            )
            return [{"id": r[0], "date": r[1].isoformat()} for r in rows] if len(rows) >= closes else None

        draws = wait_for(open_draws, timeout=60, message=f"{closes} open draws")
        log(
            f"{len(players)} players, {len(draws)} open draws; load: {args.connections} connections for "
            f"{args.duration:.0f} s, a draw made due every {args.close_every:.0f} s"
        )
        state, samples, stale, elapsed = asyncio.run(run_load(args, stack, players, draws))
        log(f"load done: {state.requests} requests in {elapsed:.1f} s; closing and auditing")
        audit = finish_and_audit(stack, state)
        stack.assert_running()
        worker_rss = rss_bytes(stack.processes["worker"].pid or 0)
    latency = {
        kind: {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
        }
        for kind, values in sorted(state.latencies.items())
    }
    memory = memory_report(samples, args.warmup)
    errors = sum(state.errors.values())
    return {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": "make soak ARGS='" + " ".join(sys.argv[1:]) + "'",
        "settings": {
            "duration_s": args.duration,
            "connections": args.connections,
            "players": args.players,
            "close_every_s": args.close_every,
            "gunicorn_workers": args.gunicorn_workers,
            "gunicorn_threads": int(os.environ.get("GUNICORN_THREADS", "4")),
            "celery_worker_concurrency": 2,
            "tick_seconds": 1.0,
            "seed": args.seed,
            "nproc": os.cpu_count(),
        },
        "requests": state.requests,
        "elapsed_s": round(elapsed, 1),
        "rps": round(state.requests / elapsed, 1),
        "statuses": dict(sorted(state.statuses.items())),
        "designed_4xx": dict(state.designed),
        "errors": errors,
        "error_kinds": dict(state.errors),
        "error_examples": state.error_examples,
        "stale_keepalive_resends": stale,
        "closes": state.closes,
        "audit": audit,
        "latency": latency,
        "memory": memory,
        "celery_worker_rss_mib_at_end": round((worker_rss or 0) / MIB, 1),
        "passed": errors == 0
        and audit["lost_ballots"] == 0
        and audit["late_ballots"] == 0
        and audit["orders_without_exactly_their_ballots"] == 0
        and memory["stable"],
    }


def summary(result: dict[str, Any]) -> str:
    audit, memory = result["audit"], result["memory"]
    closes = result["closes"]
    due = [c["seconds_due_to_closed"] for c in closes]
    lines = [
        f"soak: {result['settings']['duration_s']:.0f} s, {result['settings']['connections']} connections, "
        f"{result['settings']['gunicorn_workers']} gunicorn workers: "
        f"{'PASSED' if result['passed'] else 'FAILED'}",
        f"  requests            {result['requests']} ({result['rps']} req/s)",
        f"  errors              {result['errors']} {result['error_kinds'] or ''}",
        f"  designed 4xx        {result['designed_4xx']}",
        f"  draws closed        {audit['draws_closed']} (due → closed by beat: "
        f"{min(due, default=0):.1f} to {max(due, default=0):.1f} s, {len(closes)} during the load)",
        f"  ballots acked       {audit['acknowledged_ballots']} "
        f"(all in ballots.txt: lost {audit['lost_ballots']}; "
        f"late {audit['late_ballots']}; in a draw but never acked {audit['in_draw_unacknowledged']})",
        f"  orders              {audit['orders']} ({audit['orders_without_exactly_their_ballots']} without "
        f"exactly their ballots), ballots {audit['ballots']}",
        f"  gunicorn RSS        first quarter {memory['workers_total_first_quarter_mib']} MiB → last quarter "
        f"{memory['workers_total_last_quarter_mib']} MiB ({memory['growth']:+.1%}, "
        f"{'stable' if memory['stable'] else 'GROWING'}; {memory['workers_replaced']} workers replaced)",
    ]
    for kind, figures in result["latency"].items():
        lines.append(
            f"  {kind:<19} {figures['count']:>6} x, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=float(os.environ.get("SOAK_DURATION", 120)))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("SOAK_CONNECTIONS", 64)))
    parser.add_argument("--players", type=int, default=64)
    parser.add_argument("--close-every", type=float, default=20.0, help="seconds between draws made due")
    parser.add_argument("--sample-every", type=float, default=2.0, help="seconds between RSS samples")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="seconds of load before the RSS samples that are compared"
    )
    parser.add_argument(
        "--gunicorn-workers",
        type=int,
        default=int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2 + 1)),
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("SOAK_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
        or "postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server and a role that may create databases",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/13"),
        help="a Redis DB index the soak may flush",
    )
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--out", type=Path, default=None, help="the JSON file (default bench/results/soak-<time>.json)"
    )
    return parser


def main() -> int:
    args = build_parser().parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        print("the soak needs PostgreSQL: --database-url / SOAK_DATABASE_URL / DATABASE_URL", file=sys.stderr)
        return 2
    result = soak(args)
    out = args.out or RESULTS_DIR / f"soak-{dt.datetime.now(dt.UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(summary(result))
    if result["error_examples"]:
        print("  error examples:\n    " + "\n    ".join(result["error_examples"][:10]))
    print(f"  written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
