"""Fault: PostgreSQL restarts under load.

A private cluster (initdb into a temp dir, its own port) is the stack's database; client
threads buy (each purchase with its own Idempotency-Key), browse and read their ballots
while the cluster is stopped ("fast": every connection cut, open transactions rolled back)
for a few seconds and started again. During the outage /readyz answers 503 naming the
database, and every request gets a prompt answer: under /api/ an error is problem+json. After
the restart the same processes serve again (no restart of gunicorn or Celery), beat and the
worker close a draw, failed purchases retried with their key give exactly one order each,
and every order has exactly its ballots.
"""

import collections
import time

import pytest

from tests.harness import PrivatePostgres, ProductionStack, wait_for

from .common import (
    STACK,
    BackgroundLoad,
    draw_status,
    make_due,
    open_draws,
    order_integrity_problems,
    outbox_message_ids,
    received_message_ids,
    retry_purchase,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

OUTAGE_SECONDS = 6
CLIENT_TIMEOUT = 10  # no request may take longer: a hang fails the test


def test_postgres_restart_under_load(fault_services):
    _, redis_url = fault_services
    started = time.monotonic()
    with (
        PrivatePostgres() as postgres,
        ProductionStack(database_url=postgres.url, redis_url=redis_url, **STACK) as stack,
    ):
        players = stack.create_players(4, "pg-restart")
        draw = open_draws(stack)[0]["date"]
        pids = {name: process.pid for name, process in stack.processes.items()}
        web_workers = stack.wait_gunicorn_workers()

        load = BackgroundLoad(stack, players, draw, threads=4, timeout=CLIENT_TIMEOUT)
        load.start()
        time.sleep(3)

        # --- PostgreSQL goes away ------------------------------------------------------------------
        postgres.stop("fast")
        down_at = time.monotonic()
        probes = []
        while time.monotonic() - down_at < OUTAGE_SECONDS:
            probes.append(stack.http("GET", "/readyz", timeout=CLIENT_TIMEOUT))
            time.sleep(1)
        postgres.start()
        up_at = time.monotonic()
        wait_for(
            lambda: stack.http("GET", "/readyz", timeout=CLIENT_TIMEOUT).status == 200,
            timeout=30,
            interval=0.25,
            message="/readyz 200 after PostgreSQL came back",
        )
        recovered_at = time.monotonic()
        time.sleep(3)
        outcomes = load.stop()

        # --- during the outage: /readyz says so, requests fail promptly and cleanly ---------------
        assert probes and all(p.status == 503 for p in probes), probes
        assert all("database" in p.json()["failing"] for p in probes), probes[0].json()
        no_answer = [o for o in outcomes if o.status is None]
        assert not no_answer, f"requests without an answer (hung or dropped): {no_answer[:5]}"
        slowest = max(o.elapsed for o in outcomes)
        assert slowest < CLIENT_TIMEOUT
        api_errors = [o for o in outcomes if o.status >= 500 and o.kind != "home"]
        assert all(o.problem for o in api_errors), [o for o in api_errors if not o.problem][:5]
        unexpected_4xx = [o for o in outcomes if 400 <= o.status < 500]
        assert not unexpected_4xx, unexpected_4xx[:5]
        failed = [o for o in outcomes if o.status >= 500]
        assert failed, "no request failed: PostgreSQL was not down while the load ran"
        assert all(down_at - 1 <= o.started + o.elapsed and o.started <= recovered_at for o in failed), [
            o for o in failed if not (down_at - 1 <= o.started + o.elapsed and o.started <= recovered_at)
        ][:5]
        statuses = collections.Counter(o.status for o in failed)

        # --- recovered without a restart --------------------------------------------------------------
        after = [o for o in outcomes if o.started > recovered_at]
        assert after and all(o.status < 300 for o in after), [o for o in after if o.status >= 300][:5]
        assert {name: process.pid for name, process in stack.processes.items()} == pids
        assert stack.gunicorn_worker_pids() == web_workers, "a gunicorn worker was replaced"
        stack.assert_running()

        # every purchase the clients saw fail is retried with its key: one order each, none lost
        bought = [o for o in outcomes if o.kind == "buy"]
        retried = [o for o in bought if o.status != 201]
        for outcome in retried:
            assert outcome.key and outcome.token
            response = retry_purchase(stack, outcome.token, draw=draw, key=outcome.key)
            assert response.status == 201, response
        [(orders,)] = stack.sql(
            "SELECT count(*) FROM payments_order WHERE idempotency_key = ANY(%s)", [[o.key for o in bought]]
        )
        assert orders == len(bought)
        assert order_integrity_problems(stack) == []

        # beat and the worker reconnected too: the draw falls due, is closed, its winners mailed
        make_due(stack, draw)
        wait_for(lambda: draw_status(stack, draw) == "closed", timeout=30, message=f"beat to close {draw}")
        winner_mails = set(outbox_message_ids(stack, "draw-winner:%"))
        assert winner_mails
        wait_for(
            lambda: winner_mails <= set(received_message_ids(stack)),
            timeout=60,
            message="the winner e-mails after the restart",
        )

    print(
        f"\nPostgreSQL down {up_at - down_at:.1f} s under load: {len(outcomes)} requests, "
        f"{len(failed)} failed promptly during the outage ({dict(statuses)}, problem+json under /api/), "
        f"slowest {slowest:.2f} s; ready again {recovered_at - up_at:.1f} s after the restart; "
        f"{len(retried)} failed purchases retried with their key, {orders} orders, none lost or doubled; "
        f"test {time.monotonic() - started:.1f} s"
    )
