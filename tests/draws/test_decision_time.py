"""Whether a ballot is in is decided with the time read under the draw's lock, never earlier.

Each service takes a clock and reads it at the moment it decides. Here the clock moves while
the service waits — for the card's authorization, for the draw's lock — and the decision
follows where the clock is then, and is what the rows record.
"""

import datetime as dt

import pytest

from lottery.draws import services
from lottery.draws.errors import DrawClosed
from lottery.draws.models import Ballot, Draw
from lottery.draws.services import ballot_assign, draw_close, draw_close_by_date, draws_close_due
from lottery.payments.models import Order
from tests.clocks import Clock
from tests.factories import make_ballots
from tests.payments.fake_gateways import RecordingGateway

pytestmark = pytest.mark.django_db

SLOW = dt.timedelta(seconds=2)


def slow_authorization(clock):
    """A gateway whose authorization takes SLOW on `clock`."""
    return RecordingGateway(on_authorize=lambda authorization: clock.advance(SLOW))


@pytest.fixture
def slow_lock(monkeypatch):
    """The draw's lock takes SLOW on `clock` to get (a close holds it): call it with the clock."""

    def install(clock, name="draw_lock_shared"):
        lock = getattr(services, name)

        def wait_then_lock(draw_id):
            clock.advance(SLOW)
            lock(draw_id)

        monkeypatch.setattr(services, name, wait_then_lock)

    return install


def test_authorization_outlasting_closes_at_is_refused_and_voided(buy, user, draw):
    clock = Clock(draw.closes_at - dt.timedelta(seconds=1))  # open when the request arrives
    gateway = slow_authorization(clock)

    with pytest.raises(DrawClosed):
        buy(user, 2, draw_date=draw.date, clock=clock, gateway=gateway)

    assert gateway.names() == ["authorize", "void"]
    assert not Order.objects.exists() and not Ballot.objects.exists()


def test_accepted_purchase_records_the_moment_it_was_decided(buy, user, draw):
    decided = draw.closes_at - dt.timedelta(seconds=1)
    clock = Clock(decided - SLOW)

    purchase = buy(user, 2, draw_date=draw.date, clock=clock, gateway=slow_authorization(clock))

    assert purchase.order.created_at == decided == Order.objects.get().created_at
    assert set(Ballot.objects.values_list("purchased_at", "assigned_at")) == {(decided, decided)}
    assert {b["purchased_at"] for b in purchase.receipt["ballots"]} == {
        decided.isoformat().replace("+00:00", "Z")
    }


def test_purchase_without_a_draw_records_the_moment_after_its_authorization(buy, user, now):
    clock = Clock(now)

    purchase = buy(user, 1, clock=clock, gateway=slow_authorization(clock))

    assert purchase.order.created_at == now + SLOW
    assert Ballot.objects.get().purchased_at == now + SLOW


def test_purchase_waiting_past_closes_at_for_the_lock_is_refused(buy, user, draw, slow_lock):
    clock = Clock(draw.closes_at - dt.timedelta(seconds=1))
    slow_lock(clock)
    gateway = RecordingGateway()

    with pytest.raises(DrawClosed):
        buy(user, 1, draw_date=draw.date, clock=clock, gateway=gateway)

    assert gateway.names() == ["authorize", "void"]
    assert not Order.objects.exists()


def test_assignment_waiting_past_closes_at_for_the_lock_is_refused(user, draw, slow_lock):
    [ballot] = make_ballots(user, 1)
    clock = Clock(draw.closes_at - dt.timedelta(seconds=1))
    slow_lock(clock)

    with pytest.raises(DrawClosed):
        ballot_assign(user=user, ballot_id=ballot.pk, draw_date=draw.date, clock=clock)

    ballot.refresh_from_db()
    assert ballot.draw is None and ballot.assigned_at is None


def test_assignment_records_the_moment_it_got_the_lock(user, draw, slow_lock):
    [ballot] = make_ballots(user, 1)
    start = draw.closes_at - dt.timedelta(minutes=1)
    clock = Clock(start)
    slow_lock(clock)

    assigned = ballot_assign(user=user, ballot_id=ballot.pk, draw_date=draw.date, clock=clock)

    ballot.refresh_from_db()
    assert assigned.assigned_at == ballot.assigned_at == start + SLOW and ballot.draw == draw


@pytest.mark.parametrize("close", ["draw_close", "draw_close_by_date", "draws_close_due"])
def test_close_freezes_at_the_moment_it_got_the_lock(user, draw, slow_lock, close):
    make_ballots(user, 3, draw=draw, now=draw.closes_at - dt.timedelta(seconds=5))
    clock = Clock(draw.closes_at)
    slow_lock(clock, name="draw_lock_exclusive")

    if close == "draw_close":
        draw_close(draw_id=draw.pk, clock=clock)
    elif close == "draw_close_by_date":
        draw_close_by_date(date=draw.date, clock=clock)
    else:
        draws_close_due(clock=clock)

    draw.refresh_from_db()
    assert draw.status == Draw.Status.CLOSED and draw.closed_at == draw.closes_at + SLOW
