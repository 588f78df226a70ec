"""Public pages: home, draws, one draw, verification page, stats, errors, navigation."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lottery.core.handlers import server_error
from lottery.draws.services import draw_close
from tests.clocks import at
from tests.factories import UserFactory, make_ballots, make_draw
from tests.web.conftest import html

pytestmark = pytest.mark.django_db


def test_home_shows_todays_draw_with_countdown_prizes_and_call_to_action(client, open_draw, later_draw):
    response = client.get("/")
    assert response.status_code == 200
    page = html(response)
    assert "Win €1,000.00 tonight" in page
    # Server-rendered time left, kept live by a static script (no inline script).
    closes = open_draw.closes_at.isoformat()
    assert f'data-countdown="{closes}"' in page and "Closes in" in page
    assert "Jackpot" in page and "Runner-up" in page and "Lucky ballot" in page
    assert 'href="/signup"' in page and "Sign up and play" in page
    assert f'href="/draws/{later_draw.date.isoformat()}"' in page  # other open draws
    assert "<script>" not in page and "style=" not in page


def test_home_for_a_signed_in_player_links_to_buying_for_tonight(browser, open_draw):
    page = html(browser.get("/"))
    assert f'href="/ballots/buy?draw={open_draw.date.isoformat()}"' in page


def test_home_without_open_draws_says_so(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "There is no open draw right now" in html(response)


def test_home_lists_recent_winners_by_their_public_name_only(client, closed_draw, player):
    page = html(client.get("/"))
    assert "Recent winners" in page
    assert "Jane D." in page
    assert player.email not in page and "Jane Doe" not in page


def test_open_draws_page_lists_each_open_draw(client, open_draw, later_draw):
    response = client.get("/draws")
    assert response.status_code == 200
    page = html(response)
    for draw in (open_draw, later_draw):
        assert f'href="/ballots/buy?draw={draw.date.isoformat()}"' in page
    assert "Open" in page


def test_closed_draws_page_shows_winners_and_paginates(client, draw_type, today, player):
    for back in range(1, 13):
        date = today - dt.timedelta(days=back)
        draw = make_draw(date, draw_type=draw_type, now=timezone.now() - dt.timedelta(days=20))
        make_ballots(player, 1, draw=draw, now=draw.closes_at - dt.timedelta(hours=1))
        draw_close(draw_id=draw.pk, clock=at(draw.closes_at))
    first = html(client.get("/draws/closed"))
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    assert "Jane D." in first and "€1,000.00" in first
    assert f"/draws/{(today - dt.timedelta(days=1)).isoformat()}/verify" in first
    second = html(client.get("/draws/closed?page=2"))
    assert "Page 2 of 2" in second
    assert f'/draws/{(today - dt.timedelta(days=12)).isoformat()}"' in second


def test_open_draw_page_shows_prizes_count_status_commitment_and_links(client, open_draw, player):
    make_ballots(player, 4, draw=open_draw)
    response = client.get(f"/draws/{open_draw.date.isoformat()}")
    assert response.status_code == 200
    page = html(response)
    date = open_draw.date.isoformat()
    assert "Jackpot" in page and "€1,000.00" in page
    assert re.search(r"<dt>Ballots</dt><dd>4\b", page)
    assert "Open: takes ballots" in page
    assert open_draw.commitment in page
    assert f'href="/api/v1/draws/{date}/proof"' in page
    assert f'href="/draws/{date}/verify"' in page
    assert "ballots.txt" not in page.replace("(ballots.txt) is published when the draw closes", "")
    assert bytes(open_draw.seed).hex() not in page


def test_closed_draw_page_shows_winners_download_and_revealed_seed(client, closed_draw):
    page = html(client.get(f"/draws/{closed_draw.date.isoformat()}"))
    date = closed_draw.date.isoformat()
    assert "Closed and drawn" in page
    assert page.count("Jane D.") == 3  # three ballots, three prizes
    assert f'href="/api/v1/draws/{date}/ballots.txt"' in page
    assert closed_draw.ballot_digest in page
    assert bytes(closed_draw.seed).hex() in page  # revealed once drawn


def test_draw_page_tells_a_player_how_many_ballots_are_theirs(browser, open_draw, player):
    make_ballots(player, 2, draw=open_draw)
    make_ballots(UserFactory(), 5, draw=open_draw)
    assert "2 of them yours" in html(browser.get(f"/draws/{open_draw.date.isoformat()}"))


@pytest.mark.parametrize("path", ["/draws/2031-01-01", "/draws/2026-02-30", "/draws/2031-01-01/verify"])
def test_unknown_or_impossible_dates_get_the_friendly_404(client, db, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "We can't find that page" in html(response)


def test_verify_page_of_an_open_draw_says_it_can_be_verified_after_the_close(client, open_draw):
    page = html(client.get(f"/draws/{open_draw.date.isoformat()}/verify"))
    assert "It can be verified after the close" in page
    assert open_draw.commitment in page
    assert bytes(open_draw.seed).hex() not in page
    assert 'data-status="open"' in page


def test_verify_page_of_a_closed_draw_loads_the_verifier_with_api_urls(client, closed_draw):
    date = closed_draw.date.isoformat()
    page = html(client.get(f"/draws/{date}/verify"))
    assert 'src="/static/web/js/verify.js"' in page
    assert f'data-proof-url="/api/v1/draws/{date}/proof"' in page
    assert f'data-ballots-url="/api/v1/draws/{date}/ballots.txt"' in page
    assert 'id="verdict"' in page
    for name in ("algorithm", "date", "status", "seed", "commitment", "ballots_canonical", "ballot_count"):
        assert f'data-check="{name}"' in page
    assert 'data-check="winners"' in page and 'data-check="beacon"' in page


@pytest.mark.parametrize(
    ("query", "accepted"),
    [
        ("?proof=/static/tampered.json&ballots=/static/b.txt", True),
        ("?proof=https://evil.example/p.json", False),
        ("?proof=//evil.example/p.json", False),
        ("?proof=javascript:alert(1)", False),
    ],
)
def test_verify_page_takes_only_same_origin_paths_for_proof_and_ballots(client, closed_draw, query, accepted):
    page = html(client.get(f"/draws/{closed_draw.date.isoformat()}/verify{query}"))
    assert ('data-proof-url="/static/tampered.json"' in page) is accepted
    assert ("This check uses files given in the address" in page) is accepted
    assert "evil.example" not in page and "javascript:" not in page


def test_stats_page_shows_totals_and_a_server_rendered_svg_chart(client, closed_draw, open_draw):
    response = client.get("/stats")
    assert response.status_code == 200
    page = html(response)
    assert "Lottery in numbers" in page
    assert page.count("<svg") >= 3  # logo + two charts
    assert 'class="chart-bar"' in page
    assert "Ballots per draw" in page and "Prize money awarded per draw" in page
    assert "€1,010.00" in page  # prize money awarded: Jackpot and two runners-up


def test_stats_page_with_no_closed_draws(client, db):
    page = html(client.get("/stats"))
    assert "No closed draws yet." in page


def test_no_page_shows_a_seed_before_its_draw_is_drawn(browser, open_draw, later_draw, player):
    make_ballots(player, 2, draw=open_draw)
    make_ballots(player, 1)
    seeds = [bytes(open_draw.seed).hex(), bytes(later_draw.seed).hex()]
    pages = ["/", "/draws", "/draws/closed", "/stats", "/ballots", "/ballots/buy", "/winnings", "/profile"]
    for draw in (open_draw, later_draw):
        pages += [f"/draws/{draw.date.isoformat()}", f"/draws/{draw.date.isoformat()}/verify"]
    for path in pages:
        response = browser.get(path)
        assert response.status_code == 200, path
        page = html(response)
        for seed in seeds:
            assert seed not in page, path
            assert seed.upper() not in page, path


def test_navigation_reaches_every_page_for_visitors_players_and_staff(client, browser, open_draw):
    anonymous = html(client.get("/"))
    for href in ("/draws", "/draws/closed", "/stats", "/signin", "/signup"):
        assert f'href="{href}"' in anonymous
    signin = html(client.get("/signin"))
    assert 'href="/forgot-password"' in signin and 'href="/resend-verification"' in signin
    player = html(browser.get("/"))
    for href in ("/ballots", "/ballots/buy", "/winnings", "/profile", "/draws", "/draws/closed", "/stats"):
        assert f'href="{href}"' in player
    assert 'action="/signout"' in player
    assert 'href="/admin/"' not in player
    staff = Client()
    staff.force_login(UserFactory(staff=True))
    assert 'href="/admin/"' in html(staff.get("/"))


def test_current_page_is_marked_in_the_navigation(client, db):
    assert 'href="/stats" aria-current="page"' in html(client.get("/stats"))


def test_unknown_page_gets_the_friendly_404_and_api_keeps_problem_json(client, db):
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert "We can't find that page" in html(page)
    assert page["Content-Type"].startswith("text/html")
    api = client.get("/api/v1/no/such/endpoint")
    assert api.status_code == 404
    assert api["Content-Type"].startswith("application/problem+json")


@override_settings(ROOT_URLCONF="tests.web.error_urls")
def test_permission_denied_gets_the_friendly_403(client, db):
    response = client.get("/test/forbidden")
    assert response.status_code == 403
    assert "You can't do that" in html(response)
    api = client.get("/api/v1/test/forbidden")
    assert api.status_code == 403
    assert api.json()["code"] == "forbidden"


@override_settings(ROOT_URLCONF="tests.web.error_urls")
def test_server_error_gets_the_friendly_500(db):
    client = Client(raise_request_exception=False)
    response = client.get("/test/broken")
    assert response.status_code == 500
    assert "Something went wrong on our side" in html(response)
    assert 'href="/static/web/css/app.css"' in html(response)
    api = client.get("/api/v1/test/broken")
    assert api.status_code == 500 and api.json()["code"] == "server_error"


def test_the_500_page_renders_without_touching_the_database(db):
    request = RequestFactory().get("/anything")
    with CaptureQueriesContext(connection) as queries:
        response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert len(queries) == 0
