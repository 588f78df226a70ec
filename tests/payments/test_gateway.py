import datetime as dt

import pytest

from lottery.core.errors import ValidationFailed
from lottery.payments.errors import CardInvalid, PaymentDeclined
from lottery.payments.gateway import Card, SandboxGateway, card_expired, luhn_valid, payment_gateway
from tests.payments.fake_gateways import AlwaysDeclines

NOW = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)


def card(number="4242424242424242", month=12, year=2030):
    return Card(number=number, expiry_month=month, expiry_year=year, cvc="123")


# --- Luhn --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424242",
        "4000000000000002",
        "4000000000009995",
        "5555555555554444",  # Mastercard
        "378282246310005",  # Amex, 15 digits
        "424242424242",  # 12 digits, the shortest accepted
        "4222222222222",  # 13 digits
        "6011000990139424",
        "4000000000000000006",  # 19 digits, the longest accepted
    ],
)
def test_luhn_accepts_valid_numbers(number):
    assert luhn_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "4242424242424241",  # wrong check digit
        "4242424242424224",  # two digits swapped
        "79927398713",  # valid checksum but only 11 digits
        "40000000000000000002",  # valid checksum but 20 digits
        "",
        "4242 4242 4242 4242",  # the edge strips spaces; the gateway gets digits only
        "4242-4242-4242-4242",
        "-4242424242424242",
        "+4242424242424242",
        "424242424242424x",
        "\uff14\uff12" * 8,  # full-width "42" x 8: isdigit() says yes
        "424242424242424\u00b2",  # superscript two: isdigit() says yes, int() says no
        "4242424242424242\n",
    ],
)
def test_luhn_refuses_invalid_numbers_without_raising(number):
    assert luhn_valid(number) is False


# --- expiry --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "year", "expired"),
    [
        (6, 2026, False),  # this month: valid through its last day
        (7, 2026, False),
        (1, 2027, False),
        (5, 2026, True),  # last month
        (12, 2025, True),  # later month, earlier year
        (1, 2026, True),
    ],
)
def test_card_is_valid_through_its_expiry_month(month, year, expired):
    assert card_expired(card(month=month, year=year), dt.date(2026, 6, 10)) is expired


def test_card_expiring_in_december_is_expired_in_january():
    assert card_expired(card(month=12, year=2026), dt.date(2026, 12, 31)) is False
    assert card_expired(card(month=12, year=2026), dt.date(2027, 1, 1)) is True


# --- the sandbox ----------------------------------------------------------------------------------


def test_sandbox_authorizes_a_good_card():
    authorization = SandboxGateway().authorize(card=card(), amount=750, currency="EUR", now=NOW)

    assert authorization.gateway == "sandbox"
    assert (authorization.amount, authorization.currency, authorization.card_last4) == (750, "EUR", "4242")
    assert authorization.reference.startswith("sbx_") and len(authorization.reference) == 28


def test_sandbox_references_are_unique():
    gateway = SandboxGateway()

    references = {
        gateway.authorize(card=card(), amount=250, currency="EUR", now=NOW).reference for _ in range(50)
    }

    assert len(references) == 50


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("4000000000000002", "Your card was declined. No money was taken."),
        ("4000000000009995", "Your card was declined: insufficient funds. No money was taken."),
    ],
)
def test_sandbox_declines_the_test_cards(number, message):
    with pytest.raises(PaymentDeclined) as raised:
        SandboxGateway().authorize(card=card(number), amount=250, currency="EUR", now=NOW)

    assert raised.value.detail == message
    assert raised.value.status == 402 and raised.value.code == "payment_declined"


def test_sandbox_refuses_a_luhn_invalid_number_as_invalid_input():
    with pytest.raises(CardInvalid) as raised:
        SandboxGateway().authorize(card=card("4242424242424241"), amount=250, currency="EUR", now=NOW)

    assert isinstance(raised.value, ValidationFailed)
    assert raised.value.errors == {"payment.card_number": ["This card number is not valid."]}


def test_sandbox_refuses_an_expired_card_as_invalid_input():
    with pytest.raises(CardInvalid) as raised:
        SandboxGateway().authorize(card=card(month=5, year=2026), amount=250, currency="EUR", now=NOW)

    assert raised.value.errors == {"payment.expiry_year": ["This card has expired."]}


def test_sandbox_accepts_a_card_expiring_this_month():
    authorization = SandboxGateway().authorize(
        card=card(month=6, year=2026), amount=250, currency="EUR", now=NOW
    )

    assert authorization.amount == 250


def test_expired_declining_test_card_is_invalid_rather_than_declined():
    with pytest.raises(CardInvalid):
        SandboxGateway().authorize(
            card=card("4000000000000002", 1, 2020), amount=250, currency="EUR", now=NOW
        )


def test_sandbox_capture_and_void_succeed():
    gateway = SandboxGateway()
    authorization = gateway.authorize(card=card(), amount=250, currency="EUR", now=NOW)

    assert gateway.capture(authorization) is None
    assert gateway.void(authorization) is None


def test_gateway_is_chosen_by_setting(settings):
    assert isinstance(payment_gateway(), SandboxGateway)

    settings.LOTTERY_PAYMENT_GATEWAY = "tests.payments.fake_gateways.AlwaysDeclines"

    assert isinstance(payment_gateway(), AlwaysDeclines)
