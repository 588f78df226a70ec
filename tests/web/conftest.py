"""Fixtures for the page tests (Django's test client): real clock, real services."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from lottery.draws.calendar import lottery_date
from lottery.draws.services import draw_close
from tests.clocks import at
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

GOOD_CARD = "4242 4242 4242 4242"
IBAN = "DE89370400440532013000"
IBAN_MASKED = "DE89 •••• •••• •••• 3000"


@pytest.fixture
def today():
    return lottery_date(timezone.now())


@pytest.fixture
def draw_type(db):
    return DrawTypeFactory(
        name="Daily",
        prizes=[(1, "Jackpot", 100_000, 1), (2, "Runner-up", 500, 2), (3, "Lucky ballot", 250, 3)],
    )


@pytest.fixture
def open_draw(draw_type, today):
    """Today's draw: open, closes at the coming midnight."""
    return make_draw(today, draw_type=draw_type)


@pytest.fixture
def later_draw(draw_type, today):
    return make_draw(today + dt.timedelta(days=1), draw_type=draw_type)


@pytest.fixture
def player(db):
    return UserFactory(name="Jane Doe")


@pytest.fixture
def closed_draw(draw_type, today, player):
    """Yesterday's draw, closed with three of `player`'s ballots (all three win a prize)."""
    date = today - dt.timedelta(days=1)
    draw = make_draw(date, draw_type=draw_type, now=timezone.now() - dt.timedelta(days=3))
    make_ballots(player, 3, draw=draw, now=draw.closes_at - dt.timedelta(hours=2))
    return draw_close(draw_id=draw.pk, clock=at(draw.closes_at))


@pytest.fixture
def browser(player):
    """A test client signed in (session) as `player`."""
    client = Client()
    client.force_login(player)
    return client


def html(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
