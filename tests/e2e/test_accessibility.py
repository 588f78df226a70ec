"""axe-core on every page (light and dark, desktop and phone): no serious or critical violations."""

import datetime as dt
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from lottery.accounts import tokens
from lottery.draws.services import draw_close
from tests.clocks import at
from tests.e2e import steps
from tests.e2e.conftest import DESKTOP, PHONE
from tests.factories import DrawTypeFactory, UserFactory, make_ballots, make_draw

pytestmark = pytest.mark.browser

AXE = Axe()
BLOCKING = {"serious", "critical"}


def violations(page) -> list[str]:
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    return [
        f"{page.url} [{v['impact']}] {v['id']}: {v['help']} — "
        + "; ".join(node["target"][0] if node["target"] else "?" for node in v["nodes"][:5])
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.fixture
def world(db):
    """Something on every page: open draws, a closed draw with winners, a player with ballots."""
    tonight, _tomorrow = steps.open_draws(days=2)
    player = UserFactory(name="Jane Doe", bank_account="DE89370400440532013000")
    past = steps.today() - dt.timedelta(days=1)
    closed = make_draw(past, draw_type=DrawTypeFactory(), now=timezone.now() - dt.timedelta(days=3))
    make_ballots(player, 4, draw=closed, now=closed.closes_at - dt.timedelta(hours=1))
    draw_close(draw_id=closed.pk, clock=at(closed.closes_at))
    make_ballots(player, 2)
    make_ballots(player, 1, draw=tonight)
    unverified = UserFactory(unverified=True)
    return {
        "tonight": tonight.date.isoformat(),
        "closed": closed.date.isoformat(),
        "player": player,
        "verify_token": tokens.email_verification_token(unverified),
        "reset_token": tokens.password_reset_token(player),
    }


PUBLIC = [
    "/",
    "/draws",
    "/draws/closed",
    "/draws/{tonight}",
    "/draws/{closed}",
    "/draws/{tonight}/verify",
    "/draws/{closed}/verify",
    "/stats",
    "/signup",
    "/signin",
    "/forgot-password",
    "/resend-verification",
    "/verify-email/{verify_token}",
    "/reset-password/{reset_token}",
    "/reset-password/not-a-token",
    "/no/such/page",
]
PLAYER = ["/ballots", "/ballots?status=won", "/ballots/buy", "/winnings", "/profile"]


def _scan(browser, world, paths) -> list[str]:
    page = browser.page
    found = []
    for template in paths:
        response = page.goto(template.format(**world))
        assert response.status < 500, template
        if template.endswith("/verify") and "{closed}" in template:
            steps.verdict(page)
        found += violations(page)
    return found


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_has_no_serious_accessibility_violations(browser_factory, world, scheme):
    browser = browser_factory(viewport=DESKTOP, color_scheme=scheme)
    browser.problems.allow(r"status of (400|404)")  # the invalid-link and not-found pages
    found = _scan(browser, world, PUBLIC)
    page = browser.page
    # Forms showing their errors.
    page.goto("/signup")
    page.get_by_role("button", name="Sign up").click()
    found += violations(page)
    steps.sign_in(page, email=world["player"].email, password="wrong")
    found += violations(page)
    steps.sign_in(page, email=world["player"].email)
    expect(page).to_have_url(re.compile(r"/ballots$"))
    found += _scan(browser, world, PLAYER)
    page.goto("/ballots/buy")
    steps.pay(page, card=steps.DECLINED_CARD)
    expect(page.get_by_role("alert")).to_be_visible()
    found += violations(page)
    assert not found, "\n".join(found)


def test_phone_pages_have_no_serious_accessibility_violations_and_fit_the_screen(browser_factory, world):
    browser = browser_factory(viewport=PHONE, is_mobile=True, has_touch=True, color_scheme="dark")
    browser.problems.allow(r"status of (400|404)")
    page = browser.page
    found = []
    for path in PUBLIC:
        page.goto(path.format(**world))
        steps.assert_fits_width(page)
    found += _scan(browser, world, ["/", "/draws/{closed}", "/stats"])
    page.locator(".nav-toggle").click()  # the opened menu too
    expect(page.locator("#site-nav")).to_be_visible()
    found += violations(page)
    steps.sign_in(page, email=world["player"].email)
    for path in PLAYER:
        page.goto(path)
        steps.assert_fits_width(page)
    found += _scan(browser, world, ["/ballots", "/ballots/buy"])
    assert not found, "\n".join(found)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_every_page_is_reachable_from_the_navigation(request, world, viewport):
    browser = request.getfixturevalue(viewport)
    page = browser.page
    page.goto("/")
    for name, url in [("Draws", r"/draws$"), ("Results", r"/draws/closed$"), ("Stats", r"/stats$")]:
        steps.nav(page, name)
        expect(page).to_have_url(re.compile(url))
    steps.nav(page, "Sign up")
    expect(page).to_have_url(re.compile(r"/signup$"))
    steps.nav(page, "Sign in")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/forgot-password$"))
    page.go_back()
    page.get_by_role("link", name="Resend the confirmation e-mail").click()
    expect(page).to_have_url(re.compile(r"/resend-verification$"))
    steps.sign_in(page, email=world["player"].email)
    for name, url in [
        ("My ballots", r"/ballots$"),
        ("Buy ballots", r"/ballots/buy$"),
        ("Winnings", r"/winnings$"),
        ("Profile", r"/profile$"),
    ]:
        steps.nav(page, name)
        expect(page).to_have_url(re.compile(url))
    # A draw, its verification page, and back, all by links.
    steps.nav(page, "Results")
    page.locator(".result-card").first.get_by_role("link", name=re.compile("^Verify")).click()
    expect(page).to_have_url(re.compile(r"/draws/\d{4}-\d{2}-\d{2}/verify$"))
    assert steps.verdict(page) == "All checks passed"
    page.get_by_role("link", name=re.compile("Back to the draw")).click()
    expect(page).to_have_url(re.compile(r"/draws/\d{4}-\d{2}-\d{2}$"))


def test_staff_see_a_link_to_the_admin(desktop, db):
    staff = UserFactory(staff=True)
    page = desktop.page
    steps.sign_in(page, email=staff.email)
    expect(page.locator("#site-nav").get_by_role("link", name="Admin")).to_have_attribute("href", "/admin/")
