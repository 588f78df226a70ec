"""The draw lock under real concurrency: threads, each with its own PostgreSQL connection.

SQLite serializes every write transaction (IMMEDIATE), so these races cannot happen there.
"""

import datetime as dt
import hashlib
import random
import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from lottery import fairness
from lottery.core.models import AuditEntry, OutboxEmail
from lottery.draws import services
from lottery.draws.ballot_list import ballot_txt_pages
from lottery.draws.calendar import lottery_date
from lottery.draws.errors import DrawBusy, DrawClosed
from lottery.draws.locks import draw_lock_exclusive
from lottery.draws.models import Ballot, Draw, Winner
from lottery.draws.services import ballot_assign, ballot_purchase, draw_close
from lottery.payments.gateway import Card
from lottery.payments.models import Order
from tests.clocks import at
from tests.factories import UserFactory, make_ballots, make_draw
from tests.payments.fake_gateways import RecordingGateway

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"),
]

THREADS = 16
ACCEPTED_BEFORE_CLOSE = 48  # let this many ballots in, then close while the rest keep buying
MAX_ATTEMPTS = 300  # per thread: a bound, never reached when the close works
REFUSALS_TO_SEE = 3  # each thread keeps trying a little after the close, then stops


@pytest.fixture
def card():
    return Card(number="4242424242424242", expiry_month=12, expiry_year=timezone.now().year + 2, cvc="123")


@pytest.fixture
def open_draw(db):
    """Tomorrow's draw (in the lottery zone), so its closes_at is safely in the future."""
    now = timezone.now()
    return make_draw(lottery_date(now) + dt.timedelta(days=1), now=now)


class Threads:
    """Start functions in threads behind one barrier; collect their errors; close their connections."""

    def __init__(self):
        self.errors = []

    def run(self, *functions, timeout=30):
        barrier = threading.Barrier(len(functions))

        def wrap(function):
            def run():
                try:
                    barrier.wait(timeout=10)
                    function()
                except BaseException as exc:  # reported by the test, not lost in the thread
                    self.errors.append(exc)
                finally:
                    connection.close()

            return run

        threads = [threading.Thread(target=wrap(f)) for f in functions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        assert not any(t.is_alive() for t in threads), "a thread is stuck"
        assert self.errors == []


@pytest.fixture
def threads():
    return Threads()


def frozen_ids(draw):
    data = b"".join(ballot_txt_pages(draw.pk))
    return fairness.parse_ballots_txt(data), data


def assert_orders_whole():
    """No order without its ballots, no ballot without its order."""
    assert not Order.objects.annotate(n=Count("ballots")).exclude(n=F("quantity")).exists()
    assert not Ballot.objects.filter(order__isnull=True).exists()


class RaceLog:
    """What each attempt did, and whether it started after draw_close returned."""

    def __init__(self):
        self.accepted = []  # ballot ids whose purchase/assignment returned
        self.outcomes = []  # (started_after_close, "accepted" | "refused")
        self.close_returned = threading.Event()
        self.closed = None

    def attempts(self, attempt):
        """Call attempt() until it has been refused REFUSALS_TO_SEE times."""
        refused = 0
        for _ in range(MAX_ATTEMPTS):
            after_close = self.close_returned.is_set()
            try:
                ids = attempt()
            except DrawClosed:
                self.outcomes.append((after_close, "refused"))
                refused += 1
                if refused == REFUSALS_TO_SEE:
                    return
                continue
            self.outcomes.append((after_close, "accepted"))
            self.accepted.extend(ids)

    def close_part_way(self, draw):
        deadline = time.monotonic() + 5
        while len(self.accepted) < ACCEPTED_BEFORE_CLOSE and time.monotonic() < deadline:
            time.sleep(0.001)
        self.closed = draw_close(draw_id=draw.pk, clock=timezone.now)
        self.close_returned.set()

    def assert_frozen_list_is_exactly_the_accepted(self, draw):
        expected = fairness.ballots_txt(sorted(self.accepted))
        draw.refresh_from_db()
        assert draw.status == Draw.Status.CLOSED
        # What was frozen at the close (count and digest) is exactly the accepted ballots ...
        assert (
            draw.ballot_count == len(self.accepted) == len([o for o in self.outcomes if o[1] == "accepted"])
        )
        assert draw.ballot_digest == hashlib.sha256(expected).hexdigest()
        # ... and so is what ballots.txt publishes now: nothing entered after the close.
        ids, data = frozen_ids(draw)
        assert data == expected
        assert sorted(Ballot.objects.filter(draw=draw).values_list("pk", flat=True)) == ids
        assert set(draw.winners.values_list("ballot_id", flat=True)) <= set(ids)
        # The race was real: ballots went in before the close, and were refused after it.
        assert len(self.accepted) >= ACCEPTED_BEFORE_CLOSE
        assert len([o for o in self.outcomes if o[1] == "refused"]) == THREADS * REFUSALS_TO_SEE
        assert all(outcome == "refused" for after_close, outcome in self.outcomes if after_close)


def test_purchase_racing_the_close_is_in_the_frozen_list_or_refused(open_draw, card, threads):
    users = [UserFactory() for _ in range(THREADS)]
    gateway = RecordingGateway()
    log = RaceLog()

    def buyer(user):
        def buy_one():
            purchase = ballot_purchase(
                user=user,
                quantity=1,
                card=card,
                clock=timezone.now,
                draw_date=open_draw.date,
                gateway=gateway,
            )
            return [b["id"] for b in purchase.receipt["ballots"]]

        return lambda: log.attempts(buy_one)

    threads.run(*[buyer(u) for u in users], lambda: log.close_part_way(open_draw))

    log.assert_frozen_list_is_exactly_the_accepted(open_draw)
    assert Order.objects.count() == Ballot.objects.count() == len(log.accepted)
    assert_orders_whole()
    # Exactly the accepted purchases were charged; a charge refused under the lock was voided.
    assert gateway.count("capture") == len(log.accepted)
    assert gateway.count("void") == gateway.count("authorize") - len(log.accepted)


def test_purchases_whose_authorization_crosses_closes_at_are_decided_under_the_lock(open_draw, card, threads):
    """closes_at passes while purchases wait for their cards' authorizations, and the scheduler
    closes the draw a moment later: a purchase is in if it reached the lock before closes_at,
    and only then; what the close freezes is exactly those."""
    users = [UserFactory() for _ in range(THREADS)]
    authorizing = {}  # charge reference -> (authorization started, returned)

    def slow(authorization):
        started = timezone.now()
        time.sleep(random.uniform(0.005, 0.05))
        authorizing[authorization.reference] = (started, timezone.now())

    gateway = RecordingGateway(on_authorize=slow)
    closes_at = timezone.now() + dt.timedelta(seconds=1)
    Draw.objects.filter(pk=open_draw.pk).update(closes_at=closes_at)
    accepted = []

    def buyer(user):
        def buy_until_after_the_close():
            while timezone.now() < closes_at + dt.timedelta(milliseconds=300):
                try:
                    purchase = ballot_purchase(
                        user=user, quantity=1, card=card, draw_date=open_draw.date, gateway=gateway
                    )
                except DrawClosed:
                    time.sleep(0.01)
                else:
                    accepted.append(purchase.order.pk)

        return buy_until_after_the_close

    def scheduler():  # its tick comes just after closes_at
        while timezone.now() < closes_at + dt.timedelta(milliseconds=100):
            time.sleep(0.005)
        assert [draw.pk for draw in services.draws_close_due()] == [open_draw.pk]

    threads.run(*[buyer(u) for u in users], scheduler)

    orders = {o.pk: o for o in Order.objects.filter(pk__in=accepted)}
    assert len(orders) == len(accepted) > 0
    for order in orders.values():  # decided after its authorization, before closes_at
        assert authorizing[order.charge_reference][1] <= order.created_at < closes_at
    in_draw = list(
        Ballot.objects.filter(draw=open_draw).values_list("pk", "order_id", "purchased_at", "assigned_at")
    )
    assert {order_id for _, order_id, _, _ in in_draw} == set(accepted)
    assert all(bought == assigned == orders[o].created_at for _, o, bought, assigned in in_draw)
    open_draw.refresh_from_db()
    ids, _ = frozen_ids(open_draw)
    assert open_draw.status == Draw.Status.CLOSED and open_draw.ballot_count == len(accepted)
    assert ids == sorted(pk for pk, _, _, _ in in_draw)
    assert open_draw.closed_at >= max(o.created_at for o in orders.values())
    assert open_draw.closed_at >= closes_at
    # The race was real: purchases authorizing across closes_at were refused and voided.
    voided = [c["reference"] for c in gateway.calls if c["call"] == "void"]
    assert any(authorizing[r][0] < closes_at <= authorizing[r][1] for r in voided)
    assert gateway.count("capture") == len(accepted)
    assert gateway.count("void") == gateway.count("authorize") - len(accepted)
    assert_orders_whole()


def test_assignment_racing_the_close_is_in_the_frozen_list_or_refused(open_draw, threads):
    owned = {}
    for _ in range(THREADS):
        user = UserFactory()
        owned[user] = [b.pk for b in make_ballots(user, MAX_ATTEMPTS)]
    log = RaceLog()

    def assigner(user, ballot_ids):
        pending = iter(ballot_ids)

        def assign_one():
            ballot = ballot_assign(
                user=user, ballot_id=next(pending), draw_date=open_draw.date, clock=timezone.now
            )
            return [ballot.pk]

        return lambda: log.attempts(assign_one)

    threads.run(*[assigner(u, ids) for u, ids in owned.items()], lambda: log.close_part_way(open_draw))

    log.assert_frozen_list_is_exactly_the_accepted(open_draw)
    assert Ballot.objects.filter(draw__isnull=False).count() == len(log.accepted)


def test_concurrent_closes_draw_one_set_of_winners(open_draw, threads):
    for _ in range(6):
        make_ballots(UserFactory(), 5, draw=open_draw)
    start = timezone.now()
    results = []

    def closer(n):
        def close():
            draw = draw_close(draw_id=open_draw.pk, clock=at(start + dt.timedelta(seconds=n)))
            winners = list(Winner.objects.filter(draw=draw).order_by("slot").values_list("slot", "ballot_id"))
            results.append((draw.status, draw.closed_at, draw.ballot_count, draw.ballot_digest, winners))

        return close

    threads.run(*[closer(n) for n in range(4)])

    assert len(results) == 4 and all(r == results[0] for r in results), results
    status, closed_at, count, digest, winners = results[0]
    assert (status, count, len(winners)) == ("closed", 30, 6)
    assert Winner.objects.count() == 6
    assert AuditEntry.objects.filter(action="draw.closed").count() == 1
    assert OutboxEmail.objects.filter(key__startswith="draw-winner:").count() == 6
    open_draw.refresh_from_db()
    assert (open_draw.closed_at, open_draw.ballot_digest) == (closed_at, digest)


def test_concurrent_retries_with_one_idempotency_key_buy_once(open_draw, card, threads, user):
    gateway = RecordingGateway()
    purchases = []

    def retry():
        purchases.append(
            ballot_purchase(
                user=user,
                quantity=3,
                card=card,
                clock=timezone.now,
                draw_date=open_draw.date,
                idempotency_key="double-click",
                fingerprint="same-body",
                gateway=gateway,
            )
        )

    threads.run(*[retry] * 8)

    assert len(purchases) == 8
    assert [p.replayed for p in purchases].count(False) == 1
    assert all(p.receipt == purchases[0].receipt for p in purchases)
    assert Order.objects.count() == 1 and Ballot.objects.count() == 3
    assert_orders_whole()
    assert gateway.count("capture") == 1
    assert gateway.count("void") == gateway.count("authorize") - 1


def test_failed_close_leaves_the_draw_open_for_purchases_and_a_later_close(
    open_draw, card, threads, monkeypatch
):
    make_ballots(UserFactory(), 10, draw=open_draw)

    def broken(draw, winners):
        raise RuntimeError("mail server config broken")

    monkeypatch.setattr(services, "_notify_winners", broken)
    with pytest.raises(RuntimeError):
        draw_close(draw_id=open_draw.pk, clock=timezone.now)

    open_draw.refresh_from_db()
    assert open_draw.status == Draw.Status.OPEN
    assert (open_draw.ballot_count, open_draw.closed_at, open_draw.ballot_digest) == (None, None, "")
    assert not Winner.objects.exists()
    assert not AuditEntry.objects.filter(action="draw.closed").exists()
    assert not OutboxEmail.objects.exists()

    buyers = [UserFactory() for _ in range(8)]

    def buyer(user):
        return lambda: ballot_purchase(
            user=user, quantity=2, card=card, clock=timezone.now, draw_date=open_draw.date
        )

    threads.run(*[buyer(u) for u in buyers])
    monkeypatch.undo()
    closed = draw_close(draw_id=open_draw.pk, clock=timezone.now)

    assert closed.ballot_count == 26
    assert closed.winners.count() == 6
    assert AuditEntry.objects.filter(action="draw.closed").count() == 1


def test_purchase_waiting_too_long_for_a_close_is_busy_and_charges_nothing(open_draw, card, user):
    with connection.cursor() as cursor:  # this test's connection waits 100 ms, not the default 5 s
        cursor.execute("SET lock_timeout = '100ms'")
    holding = threading.Event()
    release = threading.Event()

    def slow_close():
        try:
            with transaction.atomic():
                draw_lock_exclusive(open_draw.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    closer = threading.Thread(target=slow_close)
    closer.start()
    try:
        assert holding.wait(10)
        gateway = RecordingGateway()
        with pytest.raises(DrawBusy) as raised:
            ballot_purchase(
                user=user,
                quantity=1,
                card=card,
                clock=timezone.now,
                draw_date=open_draw.date,
                gateway=gateway,
            )
    finally:
        release.set()
        closer.join(10)

    assert raised.value.status == 503 and raised.value.code == "busy"
    assert gateway.names() == ["authorize", "void"]
    assert not Order.objects.exists() and not Ballot.objects.exists()
    ballot_purchase(user=user, quantity=1, card=card, clock=timezone.now, draw_date=open_draw.date)
    assert Ballot.objects.filter(draw=open_draw).count() == 1
