"""A small lottery world for the hostile-input tests: draws in every state, a player with
ballots everywhere, and a victim whose data must never leak to anyone else."""

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from lottery.accounts.models import User
from lottery.accounts.services import auth_token_create
from lottery.draws.calendar import lottery_date
from lottery.draws.models import Ballot, Draw
from lottery.draws.services import draw_close
from tests.clocks import at
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

VICTIM_EMAIL = "victim.secret@example.org"
VICTIM_IBAN = "NL91ABNA0417164300"
PLAYER_IBAN = "DE89370400440532013000"
OPERATOR_TOKEN = "test-operator-token"  # config/test_settings.py


@dataclass
class World:
    today: dt.date
    open_draw: Draw  # today's, accepting ballots
    later_draw: Draw  # tomorrow's
    closed_draw: Draw  # yesterday's, drawn (seed revealed)
    player: User  # verified, ballots unassigned / in the open draw / in the closed draw
    victim: User  # another verified user with an IBAN and ballots of their own
    player_ballots: dict[str, list[Ballot]] = field(default_factory=dict)
    victim_ballots: list[Ballot] = field(default_factory=list)

    def token(self, user: User) -> str:
        return auth_token_create(user=user)

    @property
    def victim_ballot_ids(self) -> list[int]:
        return [b.pk for b in self.victim_ballots]


@pytest.fixture
def world(db) -> World:
    now = timezone.now()
    today = lottery_date(now)
    draw_type = DrawTypeFactory(name="Daily", prizes=[(1, "Jackpot", 100_000, 1), (2, "Runner-up", 500, 2)])
    open_draw = make_draw(today, draw_type=draw_type, now=now)
    later_draw = make_draw(today + dt.timedelta(days=1), draw_type=draw_type, now=now)
    yesterday = make_draw(today - dt.timedelta(days=1), draw_type=draw_type, now=now - dt.timedelta(days=3))
    player = UserFactory(name="Pat Player", bank_account=PLAYER_IBAN)
    victim = UserFactory(name="Vic Victim", email=VICTIM_EMAIL, bank_account=VICTIM_IBAN)
    before_close = yesterday.closes_at - dt.timedelta(hours=2)
    player_closed = make_ballots(player, 2, draw=yesterday, now=before_close)
    victim_closed = make_ballots(victim, 3, draw=yesterday, now=before_close)
    closed_draw = draw_close(draw_id=yesterday.pk, clock=at(yesterday.closes_at))
    player_ballots = {
        "unassigned": make_ballots(player, 3, now=now),
        "open": make_ballots(player, 2, draw=open_draw, now=now),
        "closed": player_closed,
    }
    victim_ballots = [
        *victim_closed,
        *make_ballots(victim, 2, draw=open_draw, now=now),
        *make_ballots(victim, 2, now=now),
    ]
    return World(
        today=today,
        open_draw=open_draw,
        later_draw=later_draw,
        closed_draw=closed_draw,
        player=player,
        victim=victim,
        player_ballots=player_ballots,
        victim_ballots=victim_ballots,
    )
