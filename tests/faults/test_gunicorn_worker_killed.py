"""Fault: the gunicorn worker serving a purchase is killed (SIGKILL) while the purchase is in flight.

The test holds the draw's lock exclusively (as a close does: pg_advisory_lock on the key of
lottery/draws/locks.py), so the purchase, which takes it shared, waits inside its
transaction. The worker whose PostgreSQL connection waits is found (pg_locks → client port →
the process owning that socket) and killed. The client gets no answer; it retries with the
same Idempotency-Key — twice at once, as an impatient client might — and once the lock is
released both retries answer 201 with the same receipt, and exactly one order exists.
"""

import http.client
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.harness import ProductionStack, pid_with_tcp_port, wait_for

from .common import DRAW_LOCK_NAMESPACE, STACK, new_key, open_draws, order_integrity_problems, purchase

pytestmark = [pytest.mark.faults, pytest.mark.slow]

QUANTITY = 3


def _waiting_for_lock(stack: ProductionStack, draw_id: int, at_least: int = 1) -> list[tuple[int, int]]:
    """(backend pid, client port) of the connections waiting for this draw's lock."""
    rows = stack.sql(
        "SELECT a.pid, a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND NOT l.granted AND l.classid = %s AND l.objid = %s",
        [DRAW_LOCK_NAMESPACE, draw_id],
    )
    return rows if len(rows) >= at_least else []


def test_gunicorn_worker_killed_mid_purchase_retry_gives_one_order(fault_services, template_database):
    database_url, redis_url = fault_services
    started = time.monotonic()
    with ProductionStack(
        database_url=database_url,
        redis_url=redis_url,
        template_database=template_database,
        # long enough for the test to act while the purchase waits (a real close takes ms)
        extra_env={"LOTTERY_LOCK_TIMEOUT_MS": "30000"},
        **STACK,
    ) as stack:
        [player] = stack.create_players(1, "gunicorn-kill")
        draw = open_draws(stack)[0]
        workers_before = stack.wait_gunicorn_workers()
        key = new_key("killed")

        def buy():
            return purchase(stack, player["token"], draw=draw["date"], quantity=QUANTITY, key=key, timeout=40)

        with (
            psycopg.connect(stack.app_database_url, autocommit=True) as holder,
            ThreadPoolExecutor(3) as pool,
        ):
            holder.execute("SELECT pg_advisory_lock(%s, %s)", [DRAW_LOCK_NAMESPACE, draw["id"]])
            first = pool.submit(buy)
            [(_, client_port)] = wait_for(
                lambda: _waiting_for_lock(stack, draw["id"]), timeout=20, message="the purchase to wait"
            )
            victim = pid_with_tcp_port(client_port, stack.gunicorn_worker_pids())
            assert victim is not None, f"no gunicorn worker owns the connection from port {client_port}"
            stack.kill_gunicorn_worker(victim)
            with pytest.raises((http.client.HTTPException, ConnectionError)):
                first.result(timeout=20)  # the connection dropped: the client never got an answer

            retries = [pool.submit(buy) for _ in range(2)]
            wait_for(
                lambda: _waiting_for_lock(stack, draw["id"], at_least=2),
                timeout=20,
                message="both retries to wait for the draw lock",
            )
            [(orders_meanwhile,)] = stack.sql(
                "SELECT count(*) FROM payments_order WHERE idempotency_key = %s", [key]
            )
            holder.execute("SELECT pg_advisory_unlock(%s, %s)", [DRAW_LOCK_NAMESPACE, draw["id"]])
            answers = [retry.result(timeout=40) for retry in retries]

        assert orders_meanwhile == 0, "the killed request committed nothing"
        assert [a.status for a in answers] == [201, 201], answers
        receipts = [a.json() for a in answers]
        assert receipts[0] == receipts[1], receipts
        assert len(receipts[0]["ballots"]) == QUANTITY
        later = buy()  # and any later retry replays the same receipt
        assert later.status == 201 and later.json() == receipts[0], later

        rows = stack.sql(
            "SELECT o.id, count(b.id) FROM payments_order o LEFT JOIN draws_ballot b ON b.order_id = o.id "
            "WHERE o.idempotency_key = %s GROUP BY o.id",
            [key],
        )
        assert rows == [(receipts[0]["order_id"], QUANTITY)], rows
        assert order_integrity_problems(stack) == []

        # gunicorn replaced the worker; the service answers as before
        workers_after = stack.wait_gunicorn_workers()
        assert victim not in workers_after and len(workers_after) == len(workers_before)
        assert stack.http("GET", "/readyz").status == 200
        stack.assert_running()

    print(
        f"\ngunicorn worker {victim} SIGKILLed mid-purchase; 2 concurrent retries with the same key: "
        f"201 + 201, one order of {QUANTITY} ballots, same receipt; test {time.monotonic() - started:.1f} s"
    )
