"""Red team: a hostile operator's proofs through the in-browser verifier (/draws/{date}/verify).

The page fetches a tampered proof and ballot list from this site (?proof=…&ballots=…, as in
test_verify_in_browser.py) and must end with a named failed check: never "All checks passed"
for a result the operator chose, never "checking…" long past its deadline.
"""

import copy
import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import asdict
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from lottery import fairness, verifier
from lottery.draws import selectors
from lottery.draws.services import draw_close
from tests.clocks import at
from tests.e2e import steps
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw
from tests.test_verifier import first_failure

pytestmark = pytest.mark.browser


@pytest.fixture
def closed_draw(db):
    """Yesterday's draw, closed with 6 ballots and six prizes."""
    draw_type = DrawTypeFactory(prizes=[(1, "Jackpot", 100_000, 1), (2, "Runner-up", 500, 5)])
    date = steps.today() - dt.timedelta(days=1)
    draw = make_draw(date, draw_type=draw_type, now=timezone.now() - dt.timedelta(days=3))
    make_ballots(UserFactory(name="Jane Doe"), 6, draw=draw, now=draw.closes_at - dt.timedelta(hours=1))
    return draw_close(draw_id=draw.pk, clock=at(draw.closes_at))


def published(draw) -> dict:
    return json.loads(json.dumps(selectors.draw_proof(selectors.draw_get(date=draw.date))))


def on_ballots(proof: dict, ids: list[int], prizes: list[dict]) -> tuple[dict, bytes]:
    """``proof`` (its date and revealed seed) over another ballot list and prize table,
    with the winners our own implementation draws: every check consistent."""
    ballots = fairness.ballots_txt(ids)
    redrawn = copy.deepcopy(proof)
    winners = fairness.draw_winners(
        seed=bytes.fromhex(proof["seed"]), date=proof["date"], ballot_ids=ids, beacon="", prizes=prizes
    )
    redrawn.update(
        prizes=prizes,
        ballot_count=len(ids),
        ballot_digest=fairness.read_ballots_txt(ballots).digest,
        winners=[asdict(w) for w in winners],
    )
    return redrawn, ballots


def serve(
    desktop, name: str, proof: dict, ballots: bytes, before_list: Callable[[], None] = lambda: None
) -> str:
    """Route the operator's proof and ballot list on this site; returns the page's query string."""
    base = re.escape(desktop.base_url)
    proof_body = json.dumps(proof).encode()
    desktop.page.route(
        re.compile(rf"^{base}/{name}/proof\.json$"),
        lambda route: route.fulfill(body=proof_body, content_type="application/json"),
    )

    def send_list(route) -> None:
        before_list()
        route.fulfill(body=ballots, content_type="text/plain")

    desktop.page.route(re.compile(rf"^{base}/{name}/ballots\.txt$"), send_list)
    return f"?proof=/{name}/proof.json&ballots=/{name}/ballots.txt"


def detail(page, name: str) -> str:
    return page.locator(f'.check[data-check="{name}"] .check-detail').inner_text()


def test_two_prizes_of_one_rank_fail_in_the_browser(desktop, closed_draw):
    """Winners name only their prize_rank: which of two rank-1 winners gets the jackpot would be
    the operator's choice."""
    proof = published(closed_draw)
    tied = [
        {"rank": 1, "name": "Jackpot", "amount": 100_000, "currency": "EUR", "count": 1},
        {"rank": 1, "name": "Consolation", "amount": 1, "currency": "EUR", "count": 1},
    ]
    # The winners of the two slots of rank 1 those prizes make.
    hostile, ballots = on_ballots(proof, [3, 5, 8, 13], [{"rank": 1, "count": 2}])
    hostile["prizes"] = tied
    assert verifier.verify_proof(hostile, ballots, expected_date=proof["date"])[-1].detail == (
        "prize table unusable: prize ranks must be unique"
    )
    page = desktop.page
    page.goto(f"/draws/{proof['date']}/verify{serve(desktop, 'tied', hostile, ballots)}")
    assert steps.verdict(page) == "Check failed: winners"
    assert detail(page, "winners") == "prize table unusable: prize ranks must be unique"


def test_a_winner_id_past_2_53_cannot_pass_for_the_ballot_it_rounds_to(desktop, closed_draw):
    """JSON.parse reads 9007199254740993 as 9007199254740992: the proof names a ballot that was
    not drawn, and the page must not take it for the one that was."""
    proof = published(closed_draw)
    drawn = 2**53
    hostile, ballots = on_ballots(proof, [drawn], [{"rank": 1, "count": 1}])
    assert hostile["winners"][0]["ballot_id"] == drawn
    hostile["winners"][0]["ballot_id"] = drawn + 1
    assert not verifier.verify_proof(hostile, ballots, expected_date=proof["date"])[-1].ok
    page = desktop.page
    page.goto(f"/draws/{proof['date']}/verify{serve(desktop, 'rounded', hostile, ballots)}")
    assert steps.verdict(page) == "Check failed: winners"
    assert "ballot_id is past 2^53" in detail(page, "winners")


def test_a_draw_made_long_by_its_prize_table_ends_at_the_pages_deadline(desktop, closed_draw):
    """As many prizes as ballots: millions of HMACs for a small list and a one-line prize table,
    and the promises of that loop keep the page's timers from running meanwhile. The page's 60 s
    deadline covers re-running the draw too (here on Playwright's clock, set 55 s on just before
    the list arrives: the loop alone would take far longer than the 5 s left)."""
    proof = published(closed_draw)
    count = 100_000
    ballots = fairness.ballots_txt(range(100_000, 100_000 + count))
    hostile = {
        **proof,
        "ballot_count": count,
        "ballot_digest": fairness.read_ballots_txt(ballots).digest,
        "prizes": [{"rank": 1, "name": "Consolation", "amount": 1, "currency": "EUR", "count": count}],
    }
    page = desktop.page
    page.clock.install()

    def late() -> None:
        page.clock.set_system_time(page.evaluate("Date.now()") + 55_000)

    page.goto(f"/draws/{proof['date']}/verify{serve(desktop, 'long', hostile, ballots, before_list=late)}")
    assert steps.verdict(page) == "Check failed: deadline"
    assert (
        detail(page, "deadline")
        == "verification did not finish within 60 s (re-running the draw was under way)"
    )


@pytest.mark.parametrize("hours", [-1, 1])
def test_a_closes_at_an_hour_off_the_midnight_fails_closes_at(desktop, closed_draw, hours):
    """closes_at plans the beacon round: an operator may not pick it (docs/fairness.md)."""
    page = desktop.page
    proof, ballots = on_ballots(published(closed_draw), [3, 5, 8, 13], [{"rank": 1, "count": 2}])
    assert first_failure(verifier.verify_proof(proof, ballots)) is None
    genuine = dt.datetime.fromisoformat(proof["closes_at"].replace("Z", "+00:00"))
    shifted = {**proof, "closes_at": (genuine + dt.timedelta(hours=hours)).isoformat()}
    page.goto(f"/draws/{closed_draw.date.isoformat()}/verify{serve(desktop, 'shifted', shifted, ballots)}")
    assert steps.verdict(page) == "Check failed: closes_at"
    assert detail(page, "closes_at").startswith(f"proof says {shifted['closes_at']}, the midnight that ends")
    assert first_failure(verifier.verify_proof(shifted, ballots)) == "closes_at"


def test_the_page_finds_the_midnight_that_ends_a_day_as_zoneinfo_does(desktop, closed_draw):
    days = ["2026-03-28", "2026-03-29", "2026-10-25", "2026-10-24", "2026-12-31", "2024-02-28"]
    zones = [
        "Europe/Amsterdam",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kathmandu",
        "Pacific/Kiritimati",
    ]
    page = desktop.page
    page.goto(f"/draws/{closed_draw.date.isoformat()}/verify")
    found = page.evaluate(
        """([days, zones]) => zones.flatMap((zone) => days.map((day) =>
             new Date(window.LotteryVerify.midnightEnding(day, zone)).toISOString()))""",
        [days, zones],
    )
    expected = [
        verifier.midnight_ending(dt.date.fromisoformat(day), ZoneInfo(zone)).isoformat(
            timespec="milliseconds"
        )
        for zone in zones
        for day in days
    ]
    assert found == [e.replace("+00:00", "Z") for e in expected]
