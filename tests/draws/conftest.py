import datetime as dt
import threading

import pytest
from django.db import connection

from lottery.draws.calendar import lottery_date
from lottery.payments.gateway import Authorization, Card, PaymentGateway, SandboxGateway
from lottery.payments.models import Order
from tests.factories import DrawTypeFactory, make_draw

# A Wednesday in summer time (CEST): lottery date 2026-06-10, closes 2026-06-10T22:00Z.
NOW = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
GOOD_CARD = "4242424242424242"


class RecordingGateway(PaymentGateway):
    """The sandbox's decisions, plus a log of every call and what the database held at the time.

    `on_authorize` runs right after a successful authorization: a hook to make something
    happen between the charge and the order's transaction (a close, a failure).
    """

    name = "recording"

    def __init__(self, on_authorize=None):
        self.sandbox = SandboxGateway()
        self.on_authorize = on_authorize
        self.calls = []
        self._lock = threading.Lock()

    def _record(self, call, authorization):
        with self._lock:
            self.calls.append(
                {
                    "call": call,
                    "reference": authorization.reference,
                    "in_transaction": connection.in_atomic_block,
                    "order_visible": Order.objects.filter(charge_reference=authorization.reference).exists(),
                }
            )

    def authorize(self, *, card, amount, currency, now) -> Authorization:
        authorization = self.sandbox.authorize(card=card, amount=amount, currency=currency, now=now)
        self._record("authorize", authorization)
        if self.on_authorize:
            self.on_authorize(authorization)
        return authorization

    def capture(self, authorization):
        self._record("capture", authorization)

    def void(self, authorization):
        self._record("void", authorization)

    def names(self):
        return [c["call"] for c in self.calls]

    def count(self, call):
        return self.names().count(call)


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def today(now):
    return lottery_date(now)


@pytest.fixture
def draw_type(db):
    return DrawTypeFactory()


@pytest.fixture
def draw(draw_type, now, today):
    """Today's open draw (Jackpot x1, Runner-up x5)."""
    return make_draw(today, draw_type=draw_type, now=now)


@pytest.fixture
def card(now):
    return Card(number=GOOD_CARD, expiry_month=12, expiry_year=now.year + 2, cvc="123")


@pytest.fixture
def recording_gateway():
    return RecordingGateway()


@pytest.fixture
def buy(card, now):
    """ballot_purchase with a good card at `now`; keyword arguments override."""
    from lottery.draws.services import ballot_purchase

    def buy(user, quantity=1, **kwargs):
        kwargs.setdefault("card", card)
        kwargs.setdefault("now", now)
        return ballot_purchase(user=user, quantity=quantity, **kwargs)

    return buy
