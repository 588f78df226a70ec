"""Fault: Celery beat is down across several midnights; later, two beats run at once.

The clock is simulated by moving closes_at (nothing else changes): with beat stopped, four
draws with ballots are pushed into the past, as if beat had been down for four "days". Their
ballots are refused from closes_at on although nobody closed them. A new beat's first runs
close every missed draw, oldest first, each exactly once. Then two beats and two workers run
together while four more draws fall due at the same moment: each draw is closed once — one
audit entry, one set of winners, one e-mail per winner — and nothing fails.
"""

import collections
import time

import pytest

from tests.harness import ProductionStack, wait_for

from .common import (
    STACK,
    draw_status,
    make_due,
    new_key,
    open_draws,
    order_integrity_problems,
    outbox_message_ids,
    purchase,
    received_message_ids,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MISSED = 4  # draws beat misses while down
RACED = 4  # draws that fall due at once under two beats
PLAYERS = 3
PER_PLAYER = 2  # ballots per player and draw


def _buy_into(stack: ProductionStack, players: list[dict], date: str) -> set[int]:
    ids = set()
    for player in players:
        response = purchase(stack, player["token"], draw=date, quantity=PER_PLAYER, key=new_key("beat"))
        assert response.status == 201, response
        ids |= {b["id"] for b in response.json()["ballots"]}
    return ids


def _check_closed_once(stack: ProductionStack, draw: dict, ballots: set[int]) -> None:
    """One close of `draw`: one audit entry, winners drawn once, the ballot list = what was sold."""
    date = draw["date"]
    audit = stack.sql(
        "SELECT action FROM core_auditentry WHERE object_type = 'draws.draw' AND object_id = %s "
        "AND action <> 'draw.created'",
        [str(draw["id"])],
    )
    assert audit == [("draw.closed",)], (date, audit)
    detail = stack.http("GET", f"/api/v1/draws/{date}").json()
    slots = sum(p["count"] for p in detail["prizes"])
    assert detail["ballot_count"] == len(ballots), detail
    assert len(detail["winners"]) == min(slots, len(ballots)), detail
    assert {w["ballot_id"] for w in detail["winners"]} <= ballots
    listed = stack.http("GET", f"/api/v1/draws/{date}/ballots.txt")
    assert listed.status == 200, listed
    assert {int(line) for line in listed.text.split()} == ballots


def test_beat_down_for_days_then_catch_up_and_two_beats_never_double_close(fault_services, template_database):
    database_url, redis_url = fault_services
    started = time.monotonic()
    with ProductionStack(
        database_url=database_url, redis_url=redis_url, template_database=template_database, **STACK
    ) as stack:
        players = stack.create_players(PLAYERS, "beat")
        draws = open_draws(stack, MISSED + RACED)[: MISSED + RACED]
        sold = {d["date"]: _buy_into(stack, players, d["date"]) for d in draws}

        # --- beat goes down; four midnights pass -----------------------------------------------------
        stack.stop_process("beat")
        missed = draws[:MISSED]
        ids = [d["id"] for d in missed]
        stack.sql(
            "UPDATE draws_draw SET closes_at = closes_at - make_interval(days => %s) WHERE id = ANY(%s)",
            [MISSED + 1, ids],
        )
        late = purchase(stack, players[0]["token"], draw=missed[-1]["date"], key=new_key("late"))
        assert late.status == 409 and late.json()["code"] == "draw_closed", late  # refused though not closed
        time.sleep(3 * STACK["tick_seconds"])  # the worker alone closes nothing
        assert [draw_status(stack, d["date"]) for d in missed] == ["open"] * MISSED

        # --- beat is back: its first runs catch up every missed draw, oldest first ---------------
        back = time.monotonic()
        stack.start_beat("beat-back")
        wait_for(
            lambda: all(draw_status(stack, d["date"]) == "closed" for d in missed),
            timeout=60,
            message="the new beat to close every missed draw",
        )
        caught_up_in = time.monotonic() - back
        closed_at = [stack.sql("SELECT closed_at FROM draws_draw WHERE id = %s", [i])[0][0] for i in ids]
        assert closed_at == sorted(closed_at), "missed draws were not closed oldest first"
        runs = len(set(closed_at))  # each sweep closes with its own `now`: how many sweeps it took
        for draw in missed:
            _check_closed_once(stack, draw, sold[draw["date"]])

        # --- two beats, two workers, four draws due at the same moment --------------------------------
        stack.start_beat("beat-second")
        stack.start_worker("worker-second")
        stack.wait_process_ready("beat-second")
        stack.wait_process_ready("worker-second")
        raced = draws[MISSED:]
        for draw in raced:
            make_due(stack, draw["date"], seconds=2)
        wait_for(
            lambda: all(draw_status(stack, d["date"]) == "closed" for d in raced),
            timeout=60,
            message="two beats to close the due draws",
        )
        time.sleep(4 * STACK["tick_seconds"])  # both beats keep sending closes of the closed draws
        for draw in raced:
            _check_closed_once(stack, draw, sold[draw["date"]])

        sent_by = {
            name: stack.logs(name).count("Sending due task lottery.draws.tasks.draws_close_due_task")
            for name in ("beat-back", "beat-second")
        }
        assert all(sent_by.values()), f"both beats must have sent closes: {sent_by}"
        worker_errors = [
            line
            for name in ("worker", "worker-second")
            for line in stack.log_lines(name, "stderr")
            if ('"level": "ERROR"' in line or '"level": "CRITICAL"' in line)
            and "DrawBusy" not in line  # a close that waited past lock_timeout: retried next tick
        ]
        assert not worker_errors, worker_errors[:3]

        # one e-mail per winner, each delivered once
        winner_mails = outbox_message_ids(stack, "draw-winner:%")
        [(winners,)] = stack.sql("SELECT count(*) FROM draws_winner")
        assert len(winner_mails) == winners
        wait_for(
            lambda: set(winner_mails) <= set(received_message_ids(stack)),
            timeout=60,
            message="every winner e-mail",
        )
        counts = collections.Counter(received_message_ids(stack))
        assert all(counts[mid] == 1 for mid in winner_mails), {m: n for m, n in counts.items() if n > 1}
        assert order_integrity_problems(stack) == []

    print(
        f"\nbeat down for {MISSED} simulated days: the new beat closed all {MISSED} missed draws in "
        f"{caught_up_in:.1f} s ({runs} sweep run(s)), oldest first; "
        f"two beats + two workers ({sent_by} close sweeps sent): "
        f"{RACED} due draws closed once each, {winners} winners, {winners} e-mails each delivered once; "
        f"test {time.monotonic() - started:.1f} s"
    )
