"""Payment gateways: an interface, and the sandbox implementation docs/api.md describes.

A purchase authorizes first (a decline costs nothing), writes the order and its ballots in
one transaction, then captures after commit; if the transaction fails the authorization is
voided. So no charge is ever captured without its ballots. A capture that fails after the
commit is retried by the periodic sweep until it succeeds (lottery.payments.services).
"""

import abc
import datetime as dt
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from .errors import CardInvalid, PaymentDeclined


@dataclass(frozen=True)
class Card:
    number: str
    expiry_month: int
    expiry_year: int
    cvc: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class Authorization:
    gateway: str
    reference: str
    amount: int
    currency: str
    card_last4: str


class PaymentGateway(abc.ABC):
    name: str

    @abc.abstractmethod
    def authorize(self, *, card: Card, amount: int, currency: str, now: dt.datetime) -> Authorization:
        """Reserve the amount; raise PaymentDeclined or CardInvalid."""

    @abc.abstractmethod
    def capture(self, authorization: Authorization) -> None:
        """Take the reserved money (after the order committed); raise if that failed.

        Idempotent by reference: capturing an authorization already captured succeeds
        without taking the money again. A capture whose answer was lost is retried.
        """

    @abc.abstractmethod
    def void(self, authorization: Authorization) -> None:
        """Release the reservation (the order did not commit)."""


def luhn_valid(number: str) -> bool:
    # ASCII only: str.isdigit() also accepts full-width and superscript digits ("²"), and
    # int() raises on some of them.
    if not (number.isascii() and number.isdigit()) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_expired(card: Card, now: dt.date) -> bool:
    """A card is valid through the last day of its expiry month."""
    return (card.expiry_year, card.expiry_month) < (now.year, now.month)


class SandboxGateway(PaymentGateway):
    """Accepts any Luhn-valid card with a future expiry, except the declining test cards."""

    name = "sandbox"
    DECLINED = {
        "4000000000000002": "Your card was declined. No money was taken.",
        "4000000000009995": "Your card was declined: insufficient funds. No money was taken.",
    }

    def authorize(self, *, card: Card, amount: int, currency: str, now: dt.datetime) -> Authorization:
        if not luhn_valid(card.number):
            raise CardInvalid({"payment.card_number": ["This card number is not valid."]})
        if card_expired(card, now.date()):
            raise CardInvalid({"payment.expiry_year": ["This card has expired."]})
        if card.number in self.DECLINED:
            raise PaymentDeclined(self.DECLINED[card.number])
        return Authorization(
            gateway=self.name,
            reference=f"sbx_{secrets.token_hex(12)}",
            amount=amount,
            currency=currency,
            card_last4=card.last4,
        )

    def capture(self, authorization: Authorization) -> None:
        return None  # no money moves in the sandbox: every capture succeeds, any number of times

    def void(self, authorization: Authorization) -> None:
        return None


def payment_gateway() -> PaymentGateway:
    gateway: PaymentGateway = import_string(settings.LOTTERY_PAYMENT_GATEWAY)()
    return gateway
