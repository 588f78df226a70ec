"""A capture that fails after the order and its ballots committed: kept, marked, retried until captured."""

import datetime as dt

import pytest
from django.utils import timezone
from prometheus_client import CollectorRegistry

from lottery.core.metrics import DatabaseFactsCollector
from lottery.core.models import AuditEntry
from lottery.core.periodic import run_periodic_once
from lottery.draws.calendar import lottery_date
from lottery.draws.models import Ballot
from lottery.draws.services import ballot_purchase
from lottery.payments import services
from lottery.payments.gateway import Card
from lottery.payments.models import Order
from lottery.payments.services import PENDING_GRACE, orders_capture_pending
from tests.clocks import Clock
from tests.factories import make_draw
from tests.payments.fake_gateways import FlakyCapture, RecordingGateway, use_gateway

pytestmark = pytest.mark.django_db

CAPTURED, FAILED, PENDING = (
    Order.CaptureStatus.CAPTURED,
    Order.CaptureStatus.FAILED,
    Order.CaptureStatus.PENDING,
)


@pytest.fixture
def draw():
    return make_draw(lottery_date(timezone.now()) + dt.timedelta(days=1))


@pytest.fixture
def card():
    return Card(number="4242424242424242", expiry_month=12, expiry_year=timezone.now().year + 2, cvc="123")


@pytest.fixture
def buy(user, card, draw):
    def buy(gateway, quantity=3, **kwargs):
        return ballot_purchase(
            user=user, quantity=quantity, card=card, draw_date=draw.date, gateway=gateway, **kwargs
        )

    return buy


def uncaptured(capture_status):
    """What /metrics says (the collector it scrapes), for orders not captured yet."""
    registry = CollectorRegistry()
    registry.register(DatabaseFactsCollector())
    return registry.get_sample_value("lottery_orders_uncaptured", {"capture_status": capture_status})


def audited(action):
    return list(AuditEntry.objects.filter(action=action).values_list("object_id", "data"))


def test_captured_purchase_is_marked_captured(buy):
    gateway = RecordingGateway()

    purchase = buy(gateway)

    assert Order.objects.get().capture_status == CAPTURED == purchase.order.capture_status
    assert gateway.names() == ["authorize", "capture"]
    assert uncaptured("failed") == uncaptured("pending") == 0
    assert not AuditEntry.objects.filter(action__startswith="order.").exists()


def test_failed_capture_keeps_the_order_and_its_ballots_and_says_so(buy, draw):
    gateway = FlakyCapture()

    purchase = buy(gateway)  # the customer gets their ballots: no error

    order = Order.objects.get()
    assert purchase.order == order and order.capture_status == FAILED
    assert Ballot.objects.filter(order=order, draw=draw).count() == 3
    assert gateway.names() == ["authorize", "capture"]  # never voided: the ballots are sold
    assert gateway.captured == {}
    [(order_id, data)] = audited("order.capture_failed")
    assert order_id == str(order.pk)
    assert data["charge_reference"] == order.charge_reference and data["amount"] == order.amount
    assert data["error"] == "ConnectionError: payment provider unreachable"
    assert uncaptured("failed") == 1


def test_sweep_captures_once_the_gateway_answers_and_a_second_run_changes_nothing(buy):
    gateway = FlakyCapture()
    buy(gateway)
    gateway.failing = False

    first = orders_capture_pending(gateway=gateway)
    second = orders_capture_pending(gateway=gateway)

    order = Order.objects.get()
    assert (first, second) == (1, 0)
    assert order.capture_status == CAPTURED
    assert gateway.captured == {order.charge_reference: order.amount}
    assert gateway.count("capture") == 2  # the failed one, the sweep's; none from the second run
    assert audited("order.captured") == [
        (str(order.pk), {"charge_reference": order.charge_reference, "was": "failed"})
    ]
    assert uncaptured("failed") == 0


def test_sweep_keeps_retrying_while_the_gateway_fails_without_auditing_each_failure(buy):
    gateway = FlakyCapture()
    buy(gateway)

    assert orders_capture_pending(gateway=gateway) == 0
    assert orders_capture_pending(gateway=gateway) == 0

    assert Order.objects.get().capture_status == FAILED
    assert gateway.count("capture") == 3
    assert len(audited("order.capture_failed")) == 1


def test_capture_lost_with_its_process_is_taken_over_by_the_sweep_after_a_grace(buy, monkeypatch):
    gateway = RecordingGateway()
    monkeypatch.setattr("lottery.draws.services.order_capture", lambda **kwargs: None)  # died here
    buy(gateway)
    monkeypatch.undo()
    order = Order.objects.get()
    assert order.capture_status == PENDING and uncaptured("pending") == 1
    clock = Clock(order.created_at + PENDING_GRACE - dt.timedelta(seconds=1))

    assert orders_capture_pending(gateway=gateway, clock=clock) == 0  # may still be capturing
    clock.advance(dt.timedelta(seconds=1))
    assert orders_capture_pending(gateway=gateway, clock=clock) == 1
    assert orders_capture_pending(gateway=gateway, clock=clock) == 0

    assert Order.objects.get().capture_status == CAPTURED
    assert gateway.names() == ["authorize", "capture"]
    assert [data["was"] for _, data in audited("order.captured")] == ["pending"]


def test_sweep_captures_only_the_orders_of_its_own_gateway(buy):
    buy(FlakyCapture())
    other = RecordingGateway()

    assert orders_capture_pending(gateway=other) == 0

    assert other.calls == [] and Order.objects.get().capture_status == FAILED


def test_sweep_takes_a_bounded_batch_per_run(user, card, draw, monkeypatch):
    monkeypatch.setattr(services, "SWEEP_BATCH", 2)
    gateway = FlakyCapture()
    for _ in range(3):
        ballot_purchase(user=user, quantity=1, card=card, draw_date=draw.date, gateway=gateway)
    gateway.failing = False

    assert [orders_capture_pending(gateway=gateway) for _ in range(3)] == [2, 1, 0]
    assert len(gateway.captured) == 3


@pytest.mark.django_db(transaction=True)  # the tick opens and closes connections as in production
def test_periodic_tick_retries_a_failed_capture_made_through_the_api(settings, monkeypatch, user, draw, card):
    from rest_framework.test import APIClient

    from lottery.accounts.services import auth_token_create

    gateway = use_gateway(settings, monkeypatch, FlakyCapture())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=user)}")
    response = client.post(
        "/api/v1/ballots/purchase",
        {
            "quantity": 2,
            "draw": draw.date.isoformat(),
            "payment": {
                "card_number": card.number,
                "expiry_month": 12,
                "expiry_year": card.expiry_year,
                "cvc": "123",
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert uncaptured("failed") == 1
    gateway.failing = False

    run_periodic_once()
    run_periodic_once()

    order = Order.objects.get()
    assert order.capture_status == CAPTURED and order.pk == response.json()["order_id"]
    assert gateway.captured == {order.charge_reference: order.amount}
    assert gateway.count("capture") == 2
    assert uncaptured("failed") == 0
