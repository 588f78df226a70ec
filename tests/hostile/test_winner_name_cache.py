"""Attack on privacy: a winner renames, yet the old display name keeps being served from a cache.

A winner who changes their name (or has it erased) must see the change in every response
within 60 s, whatever was cached before: the shared cache, each web process's store of
closed-draw reads (with or without a query string), and what browsers and proxies may keep.
The proof names no one, so it may stay cached for good. The clock is frozen and moved, so
"61 s later" costs no waiting.
"""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from lottery.accounts.services import auth_token_create
from lottery.draws.calendar import lottery_date
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw
from tests.hostile.conftest import OPERATOR_TOKEN

pytestmark = pytest.mark.django_db

OLD, NEW = "Jane D.", "Zed Z."


@pytest.fixture
def frozen():
    with freeze_time(timezone.now()) as frozen:
        yield frozen


@pytest.fixture
def closed(frozen):
    """Today's draw, closed by the operator, won by Jane Doe's only ballot."""
    draw = make_draw(
        lottery_date(timezone.now()), draw_type=DrawTypeFactory(prizes=[(1, "Jackpot", 1000, 1)])
    )
    winner = UserFactory(name="Jane Doe")
    make_ballots(winner, 1, draw=draw)
    response = APIClient().post(f"/api/v1/draws/{draw.date}/close", HTTP_X_OPERATOR_TOKEN=OPERATOR_TOKEN)
    assert response.status_code == 200 and response.json()["winners"][0]["winner_name"] == OLD
    return draw, winner


def api_reads(date):
    """Every API response that names the draw's winners, as a client reads them."""
    base = f"/api/v1/draws/{date}"
    return [base, f"{base}/winners", f"{base}?fresh=1", f"{base}/winners?fresh=1", "/api/v1/stats"]


PAGES = ["/", "/stats"]


def read_everything(client, browser, date):
    responses = {url: client.get(url) for url in api_reads(date)}
    responses |= {url: browser.get(url) for url in [*PAGES, f"/draws/{date}"]}
    assert {r.status_code for r in responses.values()} == {200}
    return responses


def test_rename_shows_everywhere_within_a_minute_whatever_was_cached(closed, frozen):
    draw, winner = closed
    client, browser = APIClient(), Client()
    proof_url = f"/api/v1/draws/{draw.date}/proof"
    proof = client.get(proof_url)
    for _ in range(2):  # the second round is answered by every cache: shared, per process
        before = read_everything(client, browser, draw.date)
    assert all(OLD in r.content.decode() for r in before.values())
    for url in api_reads(draw.date)[:4]:  # what a browser or proxy may keep, and for how long
        directive, max_age = before[url]["Cache-Control"].split(", ")
        assert directive == "public" and int(max_age.removeprefix("max-age=")) <= 60

    owner = APIClient()
    owner.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=winner)}")
    assert owner.patch("/api/v1/me", {"name": "Zed Zulu"}, format="json").status_code == 200
    frozen.tick(dt.timedelta(seconds=61))
    after = read_everything(client, browser, draw.date)

    for url, response in after.items():
        text = response.content.decode()
        assert NEW in text and OLD not in text, url
    again = client.get(proof_url)
    assert again.content == proof.content and "Jane" not in again.content.decode()
    assert again["Cache-Control"] == "public, max-age=31536000, immutable" and again["ETag"] == proof["ETag"]
