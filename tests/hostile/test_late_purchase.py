"""Attack: slip a ballot into tonight's draw after midnight by paying with a slow card.

The buyer sends the purchase a moment before `closes_at`; the card's authorization takes
longer than that moment (a slow issuer, or one the attacker controls). A check that compared
`closes_at` with the time the request arrived would let the ballot in after the draw closed.
The clock here is frozen and moved by the gateway, so "slow" is exact and costs no waiting.
"""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from lottery.accounts.services import auth_token_create
from lottery.draws.calendar import lottery_date
from lottery.draws.errors import DrawClosed
from lottery.draws.models import Ballot
from lottery.payments.models import Order
from tests.conftest import assert_problem
from tests.factories import UserFactory, make_draw
from tests.payments.fake_gateways import RecordingGateway, use_gateway

pytestmark = pytest.mark.django_db

CARD = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}


@pytest.fixture
def tonight():
    """Today's draw, and a clock frozen one second before it closes."""
    draw = make_draw(lottery_date(timezone.now()))
    with freeze_time(draw.closes_at - dt.timedelta(seconds=1)) as frozen:
        yield draw, frozen


def slow_card(settings, monkeypatch, frozen, seconds):
    """Every authorization takes `seconds` on the frozen clock."""
    gateway = RecordingGateway(on_authorize=lambda authorization: frozen.tick(dt.timedelta(seconds=seconds)))
    return use_gateway(settings, monkeypatch, gateway)


def api_as(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=user)}")
    return client


def test_purchase_whose_authorization_outlasts_closes_at_is_refused_and_voided(
    tonight, settings, monkeypatch
):
    draw, frozen = tonight
    gateway = slow_card(settings, monkeypatch, frozen, seconds=2)

    response = api_as(UserFactory()).post(
        "/api/v1/ballots/purchase",
        {"quantity": 3, "draw": draw.date.isoformat(), "payment": CARD},
        format="json",
    )

    assert_problem(response, 409, "draw_closed")
    assert gateway.names() == ["authorize", "void"]
    assert not Order.objects.exists() and not Ballot.objects.exists()


def test_purchase_form_whose_authorization_outlasts_closes_at_is_refused(tonight, settings, monkeypatch):
    draw, frozen = tonight
    gateway = slow_card(settings, monkeypatch, frozen, seconds=2)
    browser = Client()
    browser.force_login(UserFactory())

    response = browser.post(
        "/ballots/buy",
        {"quantity": 1, "draw": draw.date.isoformat(), "idempotency_key": "late-1", **CARD},
    )

    assert response.status_code == 200  # the form again, with the refusal
    assert DrawClosed.default_detail in response.content.decode()
    assert gateway.names() == ["authorize", "void"]
    assert not Order.objects.exists() and not Ballot.objects.exists()


def test_purchase_whose_authorization_ends_before_closes_at_is_in_at_that_moment(
    tonight, settings, monkeypatch
):
    draw, frozen = tonight
    slow_card(settings, monkeypatch, frozen, seconds=0.5)

    response = api_as(UserFactory()).post(
        "/api/v1/ballots/purchase",
        {"quantity": 1, "draw": draw.date.isoformat(), "payment": CARD},
        format="json",
    )

    assert response.status_code == 201, response.content
    decided = draw.closes_at - dt.timedelta(seconds=0.5)
    assert Ballot.objects.get(draw=draw).purchased_at == decided
    assert response.json()["ballots"][0]["purchased_at"] == decided.isoformat().replace("+00:00", "Z")
