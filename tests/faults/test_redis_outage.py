"""Fault: Redis (broker and cache) stops while users buy, then comes back.

A private redis-server (no persistence: what it held is gone when it stops) is the stack's
REDIS_URL; PostgreSQL is the shared server (DATABASE_URL). While Redis is down: purchases
still succeed; /readyz names the broker as failing; a draw closed by the operator queues
its winner e-mails in the outbox (the on-commit delivery fails and is swallowed), and
nothing is sent. Once Redis is back, beat's outbox sweep delivers every one of them, once.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.harness import PrivateRedis, ProductionStack, wait_for

from .common import (
    STACK,
    is_problem,
    new_key,
    open_draws,
    order_integrity_problems,
    outbox_message_ids,
    purchase,
    received_message_ids,
    supervise,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

PURCHASES_PER_PLAYER = 3
PLAYERS = 4


def test_redis_outage_purchases_succeed_and_mail_waits_in_the_outbox(fault_services, template_database):
    database_url, _ = fault_services
    started = time.monotonic()
    with (
        PrivateRedis() as redis_server,
        ProductionStack(
            database_url=database_url,
            redis_url=redis_server.url(0),
            template_database=template_database,
            **STACK,
        ) as stack,
    ):
        players = stack.create_players(PLAYERS, "redis-outage")
        draw = open_draws(stack)[0]["date"]
        assert stack.http("GET", "/readyz").status == 200

        # --- Redis goes away ---------------------------------------------------------------
        redis_server.stop()
        down_at = time.monotonic()
        ready = stack.http("GET", "/readyz", timeout=10)
        assert ready.status == 503, ready
        assert ready.json()["failing"] == ["broker"], ready.json()
        assert ready.json()["checks"]["database"]["ok"] is True

        # users keep buying, four at a time
        def buy(player: dict) -> list:
            return [
                purchase(stack, player["token"], draw=draw, quantity=2, key=new_key("redis"), timeout=20)
                for _ in range(PURCHASES_PER_PLAYER)
            ]

        with ThreadPoolExecutor(PLAYERS) as pool:
            bought = [r for responses in pool.map(buy, players) for r in responses]
        assert [r.status for r in bought] == [201] * len(bought), [r for r in bought if r.status != 201]
        slowest_purchase = max(r.elapsed for r in bought)
        assert slowest_purchase < 5, f"a purchase took {slowest_purchase:.1f} s with the broker down"

        # the operator closes the draw: its winner e-mails are queued in the same transaction
        operator = {"X-Operator-Token": stack.operator_token}
        closed = stack.http("POST", f"/api/v1/draws/{draw}/close", headers=operator, timeout=60)
        assert closed.status == 200 and closed.json()["status"] == "closed", closed
        close_seconds = closed.elapsed  # each on-commit delivery tries the dead broker first
        winners = closed.json()["winners"]
        assert len(winners) == min(len(bought) * 2, sum(p["count"] for p in closed.json()["prizes"]))
        winner_mails = outbox_message_ids(stack, "draw-winner:%")
        assert len(winner_mails) == len(winners)

        # nothing can be delivered while the broker is down: the mails wait in the outbox
        time.sleep(3 * STACK["tick_seconds"])
        [(pending,)] = stack.sql("SELECT count(*) FROM core_outboxemail WHERE sent_at IS NULL")
        assert pending == len(winners)
        assert not set(received_message_ids(stack)) & set(winner_mails)
        ready = stack.http("GET", "/readyz", timeout=10)
        assert ready.status == 503 and ready.json()["checks"]["outbox"]["backlog"] == len(winners), ready

        # what else a buyer touches while Redis (also the cache) is down
        token = players[0]["token"]
        degraded = {}
        for method, path, kwargs in [
            ("GET", "/api/v1/draws?status=open", {}),
            ("GET", f"/api/v1/draws/{open_draws(stack)[0]['date']}", {}),
            ("GET", "/api/v1/ballots", {"token": token}),
            ("GET", "/api/v1/me", {"token": token}),
            ("POST", "/api/v1/auth/signin", {"json": {"email": players[0]["email"], "password": "wrong-pw"}}),
        ]:
            response = stack.http(method, path, timeout=10, **kwargs)
            assert response.status < 500 or is_problem(response), (path, response)
            if response.status >= 500:
                degraded[f"{method} {path.split('?')[0]}"] = response.status
        outage = time.monotonic() - down_at

        # --- Redis is back (empty: the queued delivery tasks died with it) ---------------------
        redis_server.start()
        back_at = time.monotonic()
        crashed: list[str] = []

        def all_delivered() -> bool:
            crashed.extend(supervise(stack))
            received = set(received_message_ids(stack))
            return set(winner_mails) <= received

        wait_for(all_delivered, timeout=60, interval=0.5, message="the winner e-mails after Redis came back")
        delivered_in = time.monotonic() - back_at
        time.sleep(2 * STACK["tick_seconds"])  # a few more sweeps: still nothing sent twice
        received = received_message_ids(stack)
        for message_id in winner_mails:
            assert received.count(message_id) == 1, f"{message_id} arrived {received.count(message_id)} times"
        [(pending,)] = stack.sql("SELECT count(*) FROM core_outboxemail WHERE sent_at IS NULL")
        assert pending == 0
        wait_for(lambda: stack.http("GET", "/readyz").status == 200, timeout=30, message="/readyz 200")

        # purchases go on as before; no order lost its ballots
        after = purchase(stack, players[1]["token"], draw=open_draws(stack)[0]["date"], key=new_key("redis"))
        assert after.status == 201, after
        assert order_integrity_problems(stack) == []
        [(orders,)] = stack.sql("SELECT count(*) FROM payments_order")
        assert orders == len(bought) + 1

    print(
        f"\nRedis outage of {outage:.1f} s: {len(bought)} purchases all 201 "
        f"(slowest {slowest_purchase:.2f} s), "
        f"operator close {close_seconds:.1f} s; {len(winners)} winner e-mails queued and delivered "
        f"{delivered_in:.1f} s after Redis came back, "
        f"each once; test {time.monotonic() - started:.1f} s"
    )
    known_bugs = []
    if degraded:
        # Django's RedisCache raises when Redis is down, so the cache-backed reads (open draws'
        # ballot counts) and the rate-limited endpoints (signin, signup) answer 500 during the
        # outage. Purchases, above, do not use the cache.
        known_bugs.append(f"cache-backed endpoints answer 5xx while Redis is down: {degraded}")
    if crashed:
        # Celery/kombu 5.7.0: on losing the broker while it holds an unacknowledged (acks_late)
        # message, the worker dies with "Unrecoverable error: AttributeError('NoneType' object
        # has no attribute 'hostname')" instead of reconnecting. A supervisor restarts it.
        known_bugs.append(f"exited when Redis went away and were restarted as a supervisor would: {crashed}")
    if known_bugs:
        pytest.xfail("; ".join(known_bugs))
