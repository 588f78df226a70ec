"""Fault: the Celery worker is killed (SIGKILL, the whole process group) in the middle of sending.

The SMTP server is slow (each DATA waits SMTP_DELAY s before its 250) and keeps each message
as soon as it has it: a kill while a message is in flight then leaves a message the server
has but whose outbox row was never marked sent — the crash window docs/architecture.md allows. Two draws
close with a winner e-mail per prize; while those are being sent the worker is killed and a
new one is started. Every e-mail still arrives; an outbox row may arrive twice only if its
send was in flight at the kill, and both copies carry the same Message-ID.
"""

import collections
import time

import pytest

from tests.harness import ProductionStack, wait_for

from .common import STACK, new_key, open_draws, outbox_message_ids, purchase, received_message_ids

pytestmark = [pytest.mark.faults, pytest.mark.slow]

SMTP_DELAY = 0.5
CONCURRENCY = 2  # worker processes: at most this many sends in flight when it is killed


def test_worker_killed_mid_send_every_mail_arrives(fault_services, template_database):
    database_url, redis_url = fault_services
    started = time.monotonic()
    with ProductionStack(
        database_url=database_url,
        redis_url=redis_url,
        template_database=template_database,
        **{**STACK, "worker_args": (f"--concurrency={CONCURRENCY}",)},
    ) as stack:
        [player] = stack.create_players(1, "worker-kill")
        draws = [d["date"] for d in open_draws(stack, 2)[:2]]
        stack.smtp.data_delay = SMTP_DELAY
        stack.smtp.record_before_delay = True

        # one player, 20 ballots in each of two draws: every prize is won, each one mails
        for draw in draws:
            assert purchase(stack, player["token"], draw=draw, quantity=20, key=new_key()).status == 201
        operator = {"X-Operator-Token": stack.operator_token}
        for draw in draws:
            closed = stack.http("POST", f"/api/v1/draws/{draw}/close", headers=operator, timeout=60)
            assert closed.status == 200, closed
        expected = outbox_message_ids(stack, "draw-winner:%")
        assert len(expected) >= 20, expected

        # --- SIGKILL once a few have gone out and most have not -----------------------------------
        wait_for(
            lambda: len(set(received_message_ids(stack)) & set(expected)) >= 4,
            timeout=60,
            interval=0.05,
            message="the first winner e-mails",
        )
        stack.kill("worker")
        killed_at = time.monotonic()
        held_by_server = set(received_message_ids(stack))
        # the killed worker's transactions are rolled back: its in-flight rows are not marked sent
        marked = set(outbox_message_ids(stack, "draw-winner:%", sent=True))
        in_flight = (held_by_server & set(expected)) - marked
        sent_before_kill = len(marked & set(expected))
        assert 0 < sent_before_kill < len(expected), "the kill must come in the middle of sending"
        assert len(in_flight) <= CONCURRENCY, in_flight

        # --- a new worker takes over (the killed one's reserved tasks wait for the visibility
        # timeout; beat's outbox sweep sends their rows meanwhile) ---------------------------------
        stack.start_worker("worker-new")

        def all_arrived() -> bool:
            return set(expected) <= set(received_message_ids(stack))

        wait_for(all_arrived, timeout=90, interval=0.25, message="every winner e-mail after the kill")
        recovered_in = time.monotonic() - killed_at
        time.sleep(3 * STACK["tick_seconds"])  # more sweeps: nothing more may go out
        [(pending,)] = stack.sql("SELECT count(*) FROM core_outboxemail WHERE sent_at IS NULL")
        assert pending == 0

        counts = collections.Counter(received_message_ids(stack))
        duplicates = {mid: n for mid, n in counts.items() if mid in expected and n > 1}
        assert all(n == 2 for n in duplicates.values()), duplicates  # at most one extra copy
        assert set(duplicates) <= in_flight, (duplicates, in_flight)  # only sends cut by the kill
        copies = collections.defaultdict(set)
        for message in stack.smtp.messages():
            mid = str(message.message["Message-ID"]).strip()
            if mid in duplicates:
                copies[mid].add((message.subject, message.text))
        assert all(len(versions) == 1 for versions in copies.values()), "a duplicate differs from the first"

    print(
        f"\nworker SIGKILLed after {sent_before_kill}/{len(expected)} winner e-mails "
        f"({len(in_flight)} in flight); all {len(expected)} arrived {recovered_in:.1f} s after the kill; "
        f"duplicates: {len(duplicates)} (same Message-ID); test {time.monotonic() - started:.1f} s"
    )
