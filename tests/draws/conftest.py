import datetime as dt

import pytest

from lottery.draws.calendar import lottery_date
from lottery.payments.gateway import Card
from tests.clocks import at
from tests.factories import DrawTypeFactory, make_draw
from tests.payments.fake_gateways import RecordingGateway

# A Wednesday in summer time (CEST): lottery date 2026-06-10, closes 2026-06-10T22:00Z.
NOW = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.UTC)
GOOD_CARD = "4242424242424242"


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
    """ballot_purchase with a good card on a clock stopped at `now`; keyword arguments override."""
    from lottery.draws.services import ballot_purchase

    def buy(user, quantity=1, **kwargs):
        kwargs.setdefault("card", card)
        kwargs.setdefault("clock", at(now))
        return ballot_purchase(user=user, quantity=quantity, **kwargs)

    return buy
