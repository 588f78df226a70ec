"""Benchmark: closing a draw (digest + winners + proof) against N ballots on PostgreSQL.

    PYTHONPATH=. .venv/bin/python bench/close_draw.py --ballots 10000 100000 1000000 \
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--json out.json] [--keep]

It creates its own database (``--db-name``, dropped and re-created at start, dropped at the
end unless ``--keep``), migrates it, and fills one draw per N with N ballots by SQL. Each
close runs in a fresh child process, so the peak RSS reported is the closing process's
own. Every closed draw is then checked with ``lottery.verifier.verify_proof`` against
ballots.txt read back from the database. ``--ballots 10000000`` works too but takes
several minutes (mostly inserting the ballots). ``--phases`` adds a per-phase breakdown of
each close; ``--profile DIR`` writes a cProfile of each close. See bench/README.md.

Process layout: this top-level process never imports Django and stays small. Filling,
closing and verifying each run in their own subprocess. That matters for the RSS figure:
on Linux a child's ``ru_maxrss`` starts at its parent's peak RSS (it is carried over
fork/vfork + exec), so closes spawned from a process that had just verified a million
ballots would report that process's peak, not their own. The child also reports VmHWM
(per address space, not inherited) and the two are cross-checked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_DB_NAME = "lottery_bench_close"
FIRST_DATE = dt.date(2040, 1, 1)
INSERT_BATCH = 1_000_000
MIB = 1024  # ru_maxrss and /proc/self/status are in KiB on Linux


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def proc_status_mib(field: str) -> float | None:
    """VmRSS (current) or VmHWM (peak of this address space) from /proc, in MiB."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / MIB
    return None


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB


# --- database and environment ------------------------------------------------------------


def bench_database_url(admin_url: str, db_name: str) -> str:
    parts = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{db_name}"))


def recreate_database(admin_url: str, db_name: str, *, create: bool = True) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db_name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db_name)))


def django_env(database_url: str) -> dict[str, str]:
    """The environment of every Django subprocess of the bench."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        LOTTERY_ENV="development",
        DJANGO_SETTINGS_MODULE="config.settings",
        # Embedded mode, whatever the caller's shell says: no broker, no Redis, no SMTP.
        REDIS_URL="",
        CELERY_BROKER_URL="",
        EMAIL_URL="",
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    return env


def run_worker(env: dict[str, str], *args: str, payload: Any = None) -> Any:
    """Run this script in a worker mode; its last stdout line is its JSON answer."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    completed = subprocess.run(
        command,
        env=env,
        cwd=ROOT,
        input=json.dumps(payload) if payload is not None else None,
        stdout=subprocess.PIPE,  # stderr (progress, warnings, tracebacks) goes straight to ours
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"bench worker {' '.join(args)} failed (exit {completed.returncode})")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def migrate(env: dict[str, str]) -> None:
    command = [sys.executable, str(ROOT / "manage.py"), "migrate", "--skip-checks", "--verbosity", "0"]
    subprocess.run(command, env=env, cwd=ROOT, check=True)


# --- worker: fill ----------------------------------------------------------------------------


def fill_draw(*, user: Any, draw_type: Any, date: dt.date, ballots: int) -> Any:
    """An open draw for `date` holding `ballots` ballots of one order, inserted by SQL."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from lottery.draws.services import draw_create
    from lottery.payments.models import Order

    now = timezone.now()
    draw = draw_create(date=date, draw_type=draw_type, now=now)
    assert draw is not None, f"draw {date} already exists"
    order = Order.objects.create(
        user=user,
        quantity=1,  # the order row is only a foreign key target here
        amount=ballots * settings.LOTTERY_BALLOT_PRICE_CENTS,
        currency=settings.LOTTERY_CURRENCY,
        draw=draw,
        gateway="bench",
        charge_reference=f"bench-{date.isoformat()}",
        card_last4="4242",
        created_at=now,
    )
    done = 0
    while done < ballots:
        batch = min(INSERT_BATCH, ballots - done)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('is_superuser')")
            if cursor.fetchone()[0] == "on":
                # Skip the (deferred) foreign-key triggers, ~2/3 of the fill time: every row
                # points at the user, order and draw created just above.
                cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                "INSERT INTO draws_ballot (owner_id, order_id, draw_id, purchased_at, assigned_at) "
                "SELECT %s, %s, %s, %s, %s FROM generate_series(1, %s)",
                [user.pk, order.pk, draw.pk, now, now, batch],
            )
        done += batch
        if ballots > INSERT_BATCH:
            log(f"  inserted {done:,}/{ballots:,} ballots")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE draws_ballot")
    return draw


def worker_fill(counts: list[int]) -> list[dict[str, Any]]:
    """One user, the default Daily draw type, and one filled open draw per count."""
    import django

    django.setup()
    from lottery.accounts.models import User
    from lottery.draws.defaults import draw_types_seed_defaults
    from lottery.draws.models import DrawType

    draw_types_seed_defaults()
    draw_type = DrawType.objects.get(name="Daily")  # the default prize table: 14 prizes
    user = User.objects.create_user("bench@example.com", password=None, name="Bench Player")
    draws = []
    for position, n in enumerate(counts):
        date = FIRST_DATE + dt.timedelta(days=position)
        start = time.perf_counter()
        draw = fill_draw(user=user, draw_type=draw_type, date=date, ballots=n)
        log(f"filled draw {date} with {n:,} ballots in {time.perf_counter() - start:.1f} s")
        draws.append(
            {
                "ballots": n,
                "draw_id": draw.pk,
                "date": date.isoformat(),
                "closes_at": draw.closes_at.isoformat(),
                "commitment": draw.commitment,  # as published while open
            }
        )
    return draws


# --- worker: verify (trusts only the published data) ---------------------------------------


def proof_for(draw_id: int) -> dict[str, Any]:
    """The proof of a closed draw exactly as GET /api/v1/draws/{date}/proof publishes it."""
    from lottery.draws.models import Draw
    from lottery.draws.selectors import draw_get, draw_proof

    return draw_proof(draw_get(date=Draw.objects.get(pk=draw_id).date))


def worker_verify(draws: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check every closed draw with the standalone verifier; exit non-zero if anything is off."""
    import django

    django.setup()
    from lottery.draws.ballot_list import ballot_txt_pages
    from lottery.verifier import verify_proof

    results = []
    for draw in draws:
        n = draw["ballots"]
        start = time.perf_counter()
        ballots_txt = b"".join(ballot_txt_pages(draw["draw_id"]))
        export_seconds = time.perf_counter() - start
        proof = proof_for(draw["draw_id"])
        start = time.perf_counter()
        checks = verify_proof(
            proof, ballots_txt, expected_commitment=draw["commitment"], expected_date=draw["date"]
        )
        verify_seconds = time.perf_counter() - start
        failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
        if failed:
            raise SystemExit(f"verification FAILED for the draw of {n:,} ballots: {failed}")
        slots = sum(p["count"] for p in proof["prizes"])
        if proof["ballot_count"] != n or len(proof["winners"]) != min(slots, n):
            raise SystemExit(
                f"{n:,} ballots: proof has ballot_count={proof['ballot_count']} "
                f"and {len(proof['winners'])} winners"
            )
        if proof["winners"]:  # negative control: the same check must reject a tampered winner
            tampered = {**proof, "winners": [dict(w) for w in proof["winners"]]}
            tampered["winners"][0]["ballot_id"] += 1
            if all(c.ok for c in verify_proof(tampered, ballots_txt)):
                raise SystemExit("verify_proof accepted a tampered proof: the check proves nothing")
        log(f"verified draw {draw['date']} ({n:,} ballots) in {verify_seconds:.3f} s: all checks pass")
        results.append({"verify_seconds": verify_seconds, "export_seconds": export_seconds})
        del ballots_txt
    return results


# --- worker: the close -------------------------------------------------------------------------


class PhaseTimer:
    """Times the steps of draw_close by wrapping names it looks up at call time.

    Adds a few microseconds per wrapped call, nothing per ballot. Recorded per phase: wall
    seconds, calls, and the process's peak RSS once the phase ended.
    """

    def __init__(self) -> None:
        self.phases: dict[str, dict[str, float]] = {}

    def record(self, name: str, seconds: float) -> None:
        phase = self.phases.setdefault(name, {"seconds": 0.0, "calls": 0})
        phase["seconds"] += seconds
        phase["calls"] += 1
        phase["peak_rss_mib_after"] = proc_status_mib("VmHWM") or peak_rss_mib()

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        original = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.record(name, time.perf_counter() - start)

        setattr(owner, attr, timed)

    def wrap_span(self, start: tuple[Any, str], end: tuple[Any, str], name: str) -> None:
        """Time from a call of `start` to the next call of `end`, adding nothing per item
        in between (the digest loop runs once per ballot)."""
        (start_owner, start_attr), (end_owner, end_attr) = start, end
        original_start, original_end = getattr(start_owner, start_attr), getattr(end_owner, end_attr)
        began: list[float] = []

        def starting(*args: Any, **kwargs: Any) -> Any:
            began.append(time.perf_counter())
            return original_start(*args, **kwargs)

        def ending(*args: Any, **kwargs: Any) -> Any:
            if began:
                self.record(name, time.perf_counter() - began.pop())
            return original_end(*args, **kwargs)

        setattr(start_owner, start_attr, starting)
        setattr(end_owner, end_attr, ending)

    def install(self) -> None:
        from lottery import fairness
        from lottery.core import outbox
        from lottery.draws import locks, services
        from lottery.draws.models import Winner

        self.wrap(locks, "_advisory", "lock (advisory)")
        # From opening the COPY stream to reading the digest: the stream and the SHA-256 loop.
        self.wrap_span(
            (services, "ballot_txt_pages"), (fairness.BallotDigest, "hexdigest"), "digest (COPY + SHA-256)"
        )
        self.wrap(fairness, "pick_indices", "pick indices (HMAC loop)")
        self.wrap(services, "ballot_ids_at", "fetch winners by position")
        self.wrap(Winner.objects, "bulk_create", "insert winners (bulk_create)")
        self.wrap(services, "audit_log", "audit log")
        self.wrap(services, "_notify_winners", "outbox enqueue (render + insert)")
        self.wrap(outbox, "_schedule_delivery", "after commit: deliver e-mails (eager)")


def worker_close(*, draw_id: int, now: dt.datetime, phases: bool, profile: str | None) -> dict[str, Any]:
    """Set up Django, then time one draw_close."""
    import django

    django.setup()
    from django.db import connection

    from lottery.draws.services import draw_close

    timer = PhaseTimer() if phases else None
    if timer:
        timer.install()
    connection.ensure_connection()  # a scheduler closes draws on a warm connection
    rss_before = proc_status_mib("VmRSS")
    peak_before = peak_rss_mib()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start, cpu_start = time.perf_counter(), time.process_time()
    draw = draw_close(draw_id=draw_id, clock=lambda: now)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    assert draw.status == "closed", draw.status
    result: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,  # this process only; the database server's work is not in it
        "peak_rss_mib": peak_rss_mib(),
        "vm_hwm_mib": proc_status_mib("VmHWM"),
        "rss_before_mib": rss_before,
        "peak_rss_before_mib": peak_before,
    }
    if timer:
        accounted = sum(p["seconds"] for p in timer.phases.values())
        timer.phases["other (transaction, row lock, saves, commit)"] = {
            "seconds": max(seconds - accounted, 0.0),
            "calls": 1,
        }
        result["phases"] = timer.phases
    return result


# --- orchestration ------------------------------------------------------------------------


def summarize(ballots: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row per ballot count: the median run (by close time), the highest peak RSS."""
    median = sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]
    row = {"ballots": ballots, **median}
    row["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
    row["verify_seconds"] = statistics.median(r["verify_seconds"] for r in runs)
    row["runs"] = [r["seconds"] for r in runs]
    return row


def print_table(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'ballots':>12}  {'close s':>8}  {'peak RSS MiB':>12}  {'verify s':>8}  "
        f"{'RSS before MiB':>14}  {'close CPU s':>11}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        runs = f"  (runs: {' '.join(f'{s:.3f}' for s in row['runs'])})" if len(row["runs"]) > 1 else ""
        print(
            f"{row['ballots']:>12,}  {row['seconds']:>8.3f}  {row['peak_rss_mib']:>12.1f}  "
            f"{row['verify_seconds']:>8.3f}  {row['rss_before_mib']:>14.1f}  "
            f"{row['cpu_seconds']:>11.3f}{runs}"
        )


def print_phases(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if "phases" not in row:
            continue
        print(f"\nphases of the close, {row['ballots']:,} ballots ({row['seconds']:.3f} s):")
        for name, phase in sorted(row["phases"].items(), key=lambda item: -item[1]["seconds"]):
            peak = phase.get("peak_rss_mib_after")
            peak_text = f"  peak RSS after {peak:6.1f} MiB" if peak is not None else ""
            print(f"  {name:<48} {phase['seconds']:>7.3f} s  x{phase['calls']:<3}{peak_text}")


def write_json(path: str, rows: list[dict[str, Any]]) -> None:
    largest = max(rows, key=lambda r: r["ballots"])
    at_1m = next((r for r in rows if r["ballots"] == 1_000_000), None)
    report = {
        "close": [
            {"ballots": r["ballots"], "seconds": r["seconds"], "peak_rss_mib": r["peak_rss_mib"]}
            for r in rows
        ],
        "verify_1m_seconds": at_1m["verify_seconds"] if at_1m else None,
        "verify_seconds": largest["verify_seconds"],
        "verify": [{"ballots": r["ballots"], "seconds": r["verify_seconds"]} for r in rows],
        "close_runs_seconds": {str(r["ballots"]): r["runs"] for r in rows},
        "rss_before_close_mib": {str(r["ballots"]): r["rss_before_mib"] for r in rows},
        "close_cpu_seconds": {str(r["ballots"]): r["cpu_seconds"] for r in rows},
        "phases": {str(r["ballots"]): r["phases"] for r in rows if "phases" in r},
        "python": sys.version.split()[0],
    }
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
    log(f"wrote {path}")


def run(args: argparse.Namespace) -> int:
    database_url = bench_database_url(args.database_url, args.db_name)
    env = django_env(database_url)
    log(f"database {args.db_name}: (re)creating and migrating")
    recreate_database(args.database_url, args.db_name)
    try:
        migrate(env)
        counts = [n for n in dict.fromkeys(args.ballots) for _ in range(args.repeat)]
        draws = run_worker(env, "--worker", "fill", payload=counts)
        for draw in draws:
            command = ["--worker", "close", "--draw-id", str(draw["draw_id"]), "--now", draw["closes_at"]]
            if args.phases:
                command.append("--phases")
            if args.profile:
                command += [
                    "--profile",
                    str(Path(args.profile) / f"close_{draw['ballots']}_{draw['date']}.prof"),
                ]
            closed = run_worker(env, *command)
            hwm = closed["vm_hwm_mib"]
            if hwm is not None and closed["peak_rss_mib"] > hwm + 2:
                log(f"  warning: ru_maxrss {closed['peak_rss_mib']:.1f} MiB > VmHWM {hwm:.1f} MiB")
            log(
                f"closed draw {draw['date']} ({draw['ballots']:,} ballots) in {closed['seconds']:.3f} s, "
                f"peak RSS {closed['peak_rss_mib']:.1f} MiB"
            )
            draw.update(closed)
        verified = run_worker(env, "--worker", "verify", payload=draws)
        for draw, result in zip(draws, verified, strict=True):
            draw.update(result)
    finally:
        if args.keep:
            log(f"database kept: {database_url}")
        else:
            recreate_database(args.database_url, args.db_name, create=False)
    rows = [summarize(n, [d for d in draws if d["ballots"] == n]) for n in dict.fromkeys(args.ballots)]
    print_table(rows)
    print_phases(rows)
    if args.json:
        write_json(args.json, rows)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Benchmark closing a draw (digest, winners, proof).")
    parser.add_argument(
        "--ballots",
        type=int,
        nargs="+",
        default=[10_000, 100_000, 1_000_000],
        help="ballot counts, one draw each (10000000 works but takes minutes)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_ADMIN_URL),
        help="a PostgreSQL URL whose user may create databases (its database is only used to connect)",
    )
    parser.add_argument("--db-name", default=DEFAULT_DB_NAME, help="the bench database (dropped!)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="close this many draws per count; report the median"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--phases", action="store_true", help="time each phase of the close")
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each close to DIR")
    # Internal: the subprocesses.
    parser.add_argument("--worker", choices=["fill", "close", "verify"], help=argparse.SUPPRESS)
    parser.add_argument("--draw-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    return parser


def main() -> int:
    args = build_parser().parse_args()
    if args.worker == "fill":
        answer: Any = worker_fill(json.loads(sys.stdin.read()))
    elif args.worker == "verify":
        answer = worker_verify(json.loads(sys.stdin.read()))
    elif args.worker == "close":
        now = dt.datetime.fromisoformat(args.now)
        answer = worker_close(draw_id=args.draw_id, now=now, phases=args.phases, profile=args.profile)
    else:
        if not args.ballots or any(n < 0 for n in args.ballots):
            raise SystemExit("--ballots: give non-negative counts")
        if args.repeat < 1:
            raise SystemExit("--repeat must be at least 1")
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
        return run(args)
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
