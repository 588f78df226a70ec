import datetime as dt

import pytest

from lottery.accounts.errors import AccountBanned, EmailNotVerified
from lottery.accounts.services import user_ban
from lottery.core.errors import ValidationFailed
from lottery.draws import services
from lottery.draws.errors import AlreadyAssigned, BallotNotFound, DrawClosed, DrawNotFound
from lottery.draws.models import Ballot, Draw
from lottery.draws.services import ballot_assign, draw_close, purchase_fingerprint
from lottery.payments.errors import CardInvalid, IdempotencyKeyReused, PaymentDeclined
from lottery.payments.gateway import Card
from lottery.payments.models import Order
from tests.clocks import at
from tests.factories import UserFactory, make_ballots, make_draw
from tests.payments.fake_gateways import RecordingGateway

pytestmark = pytest.mark.django_db


def assert_nothing_created():
    assert not Order.objects.exists()
    assert not Ballot.objects.exists()


def card_with(card, **changes):
    return Card(**{**card.__dict__, **changes})


# --- buying -------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [1, 1000])
def test_purchase_charges_the_price_per_ballot_and_creates_order_and_ballots(
    buy, user, now, quantity, settings
):
    purchase = buy(user, quantity)

    order = Order.objects.get()
    assert purchase.order == order and purchase.replayed is False
    assert order.user == user and order.quantity == quantity
    assert order.amount == quantity * settings.LOTTERY_BALLOT_PRICE_CENTS
    assert (order.currency, order.gateway, order.card_last4, order.created_at) == (
        "EUR",
        "sandbox",
        "4242",
        now,
    )
    assert order.charge_reference.startswith("sbx_")
    ballots = Ballot.objects.filter(order=order)
    assert ballots.count() == quantity
    assert set(ballots.values_list("owner", "draw", "purchased_at", "assigned_at")) == {
        (user.pk, None, now, None)
    }


def test_purchase_receipt_lists_the_new_ballots(buy, user, now):
    purchase = buy(user, 3)

    ids = sorted(Ballot.objects.values_list("pk", flat=True))
    assert purchase.receipt == {
        "order_id": purchase.order.pk,
        "quantity": 3,
        "amount": 750,
        "currency": "EUR",
        "ballots": [
            {
                "id": pk,
                "draw": None,
                "status": "unassigned",
                "prize": None,
                "purchased_at": "2026-06-10T10:00:00Z",
            }
            for pk in ids
        ],
    }


def test_replayed_receipt_is_the_original_even_after_its_ballots_moved_on(buy, user, draw, now):
    first = buy(user, 3, idempotency_key="k-store", fingerprint="fp")
    moved = first.receipt["ballots"][1]["id"]
    services.ballot_assign(user=user, ballot_id=moved, draw_date=draw.date, clock=at(now))

    again = buy(user, 3, idempotency_key="k-store", fingerprint="fp")

    assert again.replayed is True and again.receipt == first.receipt
    assert {b["status"] for b in again.receipt["ballots"]} == {"unassigned"}


def test_price_comes_from_the_settings(buy, user, settings):
    settings.LOTTERY_BALLOT_PRICE_CENTS = 300

    assert buy(user, 4).receipt["amount"] == 1200


@pytest.mark.parametrize("quantity", [1, 1000])
def test_purchase_with_a_draw_puts_every_new_ballot_in_it(buy, user, draw, now, quantity):
    purchase = buy(user, quantity, draw_date=draw.date)

    assert Ballot.objects.filter(draw=draw, assigned_at=now).count() == quantity
    assert purchase.order.draw == draw
    assert {b["draw"] for b in purchase.receipt["ballots"]} == {draw.date.isoformat()}
    assert {b["status"] for b in purchase.receipt["ballots"]} == {"assigned"}


@pytest.mark.parametrize("quantity", [0, 1001, -1])
def test_quantity_outside_1_to_1000_is_refused(buy, user, quantity):
    with pytest.raises(ValueError):
        buy(user, quantity)
    assert_nothing_created()


def test_unverified_user_cannot_buy(buy, draw, recording_gateway):
    with pytest.raises(EmailNotVerified):
        buy(UserFactory(unverified=True), 1, draw_date=draw.date, gateway=recording_gateway)
    assert_nothing_created()
    assert recording_gateway.calls == []


def test_banned_user_cannot_buy(buy, draw, recording_gateway):
    with pytest.raises(AccountBanned):
        buy(UserFactory(banned=True), 1, draw_date=draw.date, gateway=recording_gateway)
    assert_nothing_created()
    assert recording_gateway.calls == []


def test_banned_user_keeps_ballots_already_in_open_draws(buy, user, draw, now):
    buy(user, 3, draw_date=draw.date)

    user = user_ban(user=user, actor=None, reason="fraud")
    with pytest.raises(AccountBanned):
        buy(user, 1, draw_date=draw.date)
    closed = draw_close(draw_id=draw.pk, clock=at(draw.closes_at))

    assert Ballot.objects.filter(owner=user, draw=draw).count() == 3
    assert closed.ballot_count == 3
    assert closed.winners.count() == 3  # six slots, three ballots: every ballot wins


def test_purchase_into_an_unknown_draw_is_refused(buy, user, today):
    with pytest.raises(DrawNotFound):
        buy(user, 1, draw_date=today + dt.timedelta(days=30))
    assert_nothing_created()


def test_purchase_into_a_closed_draw_is_refused_before_charging(buy, user, draw, now, recording_gateway):
    draw_close(draw_id=draw.pk, clock=at(now))

    with pytest.raises(DrawClosed):
        buy(user, 1, draw_date=draw.date, gateway=recording_gateway)
    assert_nothing_created()
    assert recording_gateway.calls == []


@pytest.mark.parametrize("late", [dt.timedelta(0), dt.timedelta(microseconds=1), dt.timedelta(hours=5)])
def test_purchase_at_or_after_closes_at_is_refused_before_the_scheduler_ran(buy, user, draw, late):
    with pytest.raises(DrawClosed):
        buy(user, 1, draw_date=draw.date, clock=at(draw.closes_at + late))

    draw.refresh_from_db()
    assert draw.status == Draw.Status.OPEN
    assert_nothing_created()


def test_purchase_just_before_closes_at_is_accepted(buy, user, draw):
    buy(user, 1, draw_date=draw.date, clock=at(draw.closes_at - dt.timedelta(microseconds=1)))

    assert Ballot.objects.filter(draw=draw).count() == 1


# --- the card -------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", ["4000000000000002", "4000000000009995"])
def test_declined_test_card_creates_nothing(buy, user, draw, card, number):
    with pytest.raises(PaymentDeclined) as raised:
        buy(user, 2, draw_date=draw.date, card=card_with(card, number=number))

    assert raised.value.code == "payment_declined" and raised.value.status == 402
    assert_nothing_created()


def test_insufficient_funds_says_so(buy, user, card):
    with pytest.raises(PaymentDeclined, match="insufficient funds"):
        buy(user, 1, card=card_with(card, number="4000000000009995"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": "4242424242424241"}, "payment.card_number"),  # Luhn check digit wrong
        ({"number": "42424242"}, "payment.card_number"),  # too short
        ({"expiry_month": 5, "expiry_year": 2026}, "payment.expiry_year"),  # last month
        ({"expiry_month": 12, "expiry_year": 2025}, "payment.expiry_year"),
    ],
)
def test_invalid_or_expired_card_is_a_validation_error_and_creates_nothing(buy, user, card, changes, field):
    with pytest.raises(CardInvalid) as raised:
        buy(user, 1, card=card_with(card, **changes))

    assert isinstance(raised.value, ValidationFailed)
    assert raised.value.code == "validation_error" and raised.value.status == 400
    assert list(raised.value.errors) == [field]
    assert_nothing_created()


def test_card_expiring_this_month_is_still_valid(buy, user, card, now):
    buy(user, 1, card=card_with(card, expiry_month=now.month, expiry_year=now.year))

    assert Order.objects.count() == 1


# --- idempotency ------------------------------------------------------------------------------------


def test_fingerprint_identifies_the_body_not_its_key_order():
    body = {"quantity": 2, "draw": "2026-06-10", "payment": {"card_number": "4242424242424242"}}

    assert purchase_fingerprint(body) == purchase_fingerprint(dict(reversed(body.items())))
    assert purchase_fingerprint(body) != purchase_fingerprint({**body, "quantity": 3})


def test_same_key_and_body_replays_the_original_receipt_without_charging(buy, user, draw, recording_gateway):
    first = buy(
        user, 2, draw_date=draw.date, idempotency_key="k1", fingerprint="fp", gateway=recording_gateway
    )
    calls = list(recording_gateway.calls)

    again = buy(
        user, 2, draw_date=draw.date, idempotency_key="k1", fingerprint="fp", gateway=recording_gateway
    )

    assert again.replayed is True and first.replayed is False
    assert again.receipt == first.receipt and again.order == first.order
    assert Order.objects.count() == 1 and Ballot.objects.count() == 2
    assert recording_gateway.calls == calls  # nothing authorized, nothing captured


def test_replay_answers_as_the_first_time_even_after_the_draw_closed(buy, user, draw, now):
    first = buy(user, 1, draw_date=draw.date, idempotency_key="k1", fingerprint="fp")
    draw_close(draw_id=draw.pk, clock=at(now))

    again = buy(
        user, 1, draw_date=draw.date, idempotency_key="k1", fingerprint="fp", clock=at(draw.closes_at)
    )

    assert again.replayed is True and again.receipt == first.receipt


def test_same_key_with_a_different_body_is_refused(buy, user):
    buy(user, 1, idempotency_key="k1", fingerprint="fp-one")

    with pytest.raises(IdempotencyKeyReused) as raised:
        buy(user, 5, idempotency_key="k1", fingerprint="fp-two")

    assert raised.value.status == 422 and raised.value.code == "idempotency_key_reused"
    assert Order.objects.count() == 1 and Ballot.objects.count() == 1


def test_idempotency_keys_are_per_user(buy, user):
    other = UserFactory()

    mine = buy(user, 1, idempotency_key="same", fingerprint="fp")
    theirs = buy(other, 1, idempotency_key="same", fingerprint="fp")

    assert not theirs.replayed and theirs.order != mine.order
    assert Order.objects.count() == 2


def test_without_a_key_every_request_is_a_new_purchase(buy, user):
    buy(user, 1)
    buy(user, 1)

    assert Order.objects.count() == 2 and Ballot.objects.count() == 2


def test_failed_purchase_does_not_use_up_its_key(buy, user, card):
    with pytest.raises(PaymentDeclined):
        buy(user, 1, card=card_with(card, number="4000000000000002"), idempotency_key="k1", fingerprint="fp")

    purchase = buy(user, 1, idempotency_key="k1", fingerprint="fp")

    assert purchase.replayed is False and Order.objects.count() == 1


# --- authorize, then commit, then capture -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_charge_is_captured_only_after_the_order_committed(buy, user, draw, recording_gateway):
    buy(user, 2, draw_date=draw.date, gateway=recording_gateway)

    authorize, capture = recording_gateway.calls
    assert authorize["call"] == "authorize" and not authorize["order_visible"]
    assert capture["call"] == "capture" and capture["reference"] == authorize["reference"]
    assert capture["in_transaction"] is False and capture["order_visible"] is True
    assert Order.objects.get().charge_reference == capture["reference"]


@pytest.mark.django_db(transaction=True)
def test_draw_closing_after_the_charge_voids_it_and_creates_nothing(buy, user, draw, now):
    """The draw closes between the fail-fast check and the lock: the check under the lock wins."""
    gateway = RecordingGateway(on_authorize=lambda authorization: draw_close(draw_id=draw.pk, clock=at(now)))

    with pytest.raises(DrawClosed):
        buy(user, 1, draw_date=draw.date, gateway=gateway)

    assert gateway.names() == ["authorize", "void"]
    void = gateway.calls[1]
    assert void["reference"] == gateway.calls[0]["reference"]
    assert void["in_transaction"] is False and void["order_visible"] is False
    assert_nothing_created()


@pytest.mark.django_db(transaction=True)
def test_failure_while_writing_the_order_voids_the_charge(buy, user, draw, recording_gateway, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")  # after the order row, before its ballots

    monkeypatch.setattr(services.sales_sql, "ballots_insert", broken)

    with pytest.raises(RuntimeError, match="disk full"):
        buy(user, 3, draw_date=draw.date, gateway=recording_gateway)

    assert recording_gateway.names() == ["authorize", "void"]
    assert recording_gateway.calls[1]["order_visible"] is False
    assert_nothing_created()


def test_declined_card_is_never_captured_or_voided(buy, user, card, recording_gateway):
    with pytest.raises(PaymentDeclined):
        buy(user, 1, card=card_with(card, number="4000000000000002"), gateway=recording_gateway)

    assert recording_gateway.calls == []


def test_configured_gateway_is_used_by_default(buy, user, settings):
    settings.LOTTERY_PAYMENT_GATEWAY = "tests.payments.fake_gateways.AlwaysDeclines"

    with pytest.raises(PaymentDeclined, match="always"):
        buy(user, 1)
    assert_nothing_created()


# --- assigning ---------------------------------------------------------------------------------------


@pytest.fixture
def ballot(user, now):
    [ballot] = make_ballots(user, 1, now=now)
    return ballot


def test_assign_puts_own_ballot_into_an_open_draw(user, ballot, draw, now):
    later = now + dt.timedelta(hours=1)

    result = ballot_assign(user=user, ballot_id=ballot.pk, draw_date=draw.date, clock=at(later))

    ballot.refresh_from_db()
    assert result == ballot
    assert ballot.draw == draw and ballot.assigned_at == later


def test_assigned_ballot_is_in_the_frozen_ballot_list(user, ballot, draw, now):
    ballot_assign(user=user, ballot_id=ballot.pk, draw_date=draw.date, clock=at(now))

    closed = draw_close(draw_id=draw.pk, clock=at(now))

    assert closed.ballot_count == 1
    assert closed.winners.get().ballot == ballot


def test_assigning_someone_elses_ballot_is_not_found(ballot, draw, now):
    with pytest.raises(BallotNotFound) as raised:
        ballot_assign(user=UserFactory(), ballot_id=ballot.pk, draw_date=draw.date, clock=at(now))

    assert raised.value.status == 404 and raised.value.code == "not_found"
    ballot.refresh_from_db()
    assert ballot.draw is None


def test_assigning_a_ballot_that_does_not_exist_is_not_found(user, draw, now):
    with pytest.raises(BallotNotFound):
        ballot_assign(user=user, ballot_id=987_654, draw_date=draw.date, clock=at(now))


def test_assigning_into_an_unknown_draw_is_refused(user, ballot, today, now):
    with pytest.raises(DrawNotFound):
        ballot_assign(user=user, ballot_id=ballot.pk, draw_date=today + dt.timedelta(days=30), clock=at(now))


def test_assigning_an_assigned_ballot_is_refused(user, ballot, draw, draw_type, now):
    tomorrow = make_draw(draw.date + dt.timedelta(days=1), draw_type=draw_type, now=now)
    ballot_assign(user=user, ballot_id=ballot.pk, draw_date=draw.date, clock=at(now))

    for date in (draw.date, tomorrow.date):
        with pytest.raises(AlreadyAssigned):
            ballot_assign(user=user, ballot_id=ballot.pk, draw_date=date, clock=at(now))

    ballot.refresh_from_db()
    assert ballot.draw == draw


def test_assigning_into_a_closed_draw_is_refused(user, ballot, draw, now):
    draw_close(draw_id=draw.pk, clock=at(now))

    with pytest.raises(DrawClosed):
        ballot_assign(user=user, ballot_id=ballot.pk, draw_date=draw.date, clock=at(now))

    ballot.refresh_from_db()
    assert ballot.draw is None


def test_assigning_at_closes_at_is_refused_before_the_scheduler_ran(user, ballot, draw):
    with pytest.raises(DrawClosed):
        ballot_assign(user=user, ballot_id=ballot.pk, draw_date=draw.date, clock=at(draw.closes_at))

    ballot.refresh_from_db()
    assert ballot.draw is None


@pytest.mark.parametrize(("trait", "error"), [("unverified", EmailNotVerified), ("banned", AccountBanned)])
def test_unverified_or_banned_user_cannot_assign(draw, now, trait, error):
    owner = UserFactory(**{trait: True})
    [ballot] = make_ballots(owner, 1, now=now)

    with pytest.raises(error):
        ballot_assign(user=owner, ballot_id=ballot.pk, draw_date=draw.date, clock=at(now))

    ballot.refresh_from_db()
    assert ballot.draw is None
