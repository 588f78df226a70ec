"""Steps a person takes in the browser, shared by the journeys."""

import datetime as dt
import json
import re
import urllib.request

from django.utils import timezone
from playwright.sync_api import Page, expect

from lottery.draws.calendar import lottery_date
from tests.factories import DEFAULT_PASSWORD, DrawTypeFactory, make_draw

STRONG = "a very long and unusual passphrase 42"
GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000000000000002"
OPERATOR_TOKEN = "test-operator-token"  # config/test_settings.py


def today() -> dt.date:
    return lottery_date(timezone.now())


def open_draws(days: int = 2):
    """Today's draw and the next few, created by the real service."""
    draw_type = DrawTypeFactory(
        name="Daily",
        prizes=[(1, "Jackpot", 100_000, 1), (2, "Runner-up", 500, 2), (3, "Lucky ballot", 250, 3)],
    )
    return [make_draw(today() + dt.timedelta(days=n), draw_type=draw_type) for n in range(days)]


def open_menu(page: Page) -> None:
    """On a phone the header navigation hides behind the Menu button: open it."""
    page.wait_for_load_state()  # the button works once the page's script has run
    toggle = page.locator(".nav-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#site-nav")).to_be_visible()


def nav(page: Page, name: str) -> None:
    """Follow a header navigation link."""
    open_menu(page)
    page.locator("#site-nav").get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()


def nav_button(page: Page, name: str) -> None:
    open_menu(page)
    page.locator("#site-nav").get_by_role("button", name=name, exact=True).click()
    page.wait_for_load_state()


def sign_up(page: Page, *, name: str, email: str, password: str = STRONG) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()


def sign_in(page: Page, *, email: str, password: str = DEFAULT_PASSWORD) -> None:
    if not page.url.endswith("/signin"):
        page.goto("/signin")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.locator("main").get_by_role("button", name="Sign in").click()


def htmx_ready(page: Page) -> None:
    """Wait until htmx (a deferred script) has processed the page: a click before that is a
    plain form submission, the no-JavaScript fallback, not the in-place update under test."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")


def pay(page: Page, *, quantity: int = 1, draw_label: str | None = None, card: str = GOOD_CARD) -> None:
    """Fill the buy form (already open) and pay."""
    page.get_by_label("Number of ballots").fill(str(quantity))
    if draw_label is not None:
        page.get_by_label("Draw").select_option(label=draw_label)
    page.get_by_label("Card number").fill(card)
    page.get_by_label("Expiry month").select_option("12")
    page.get_by_label("Expiry year").fill(str(timezone.now().year + 2))
    page.get_by_label("Security code (CVC)").fill("123")
    page.get_by_role("button", name="Pay and get my ballots").click()


def operator_close(base_url: str, date: dt.date) -> dict:
    """The operator's manual close, over HTTP as a real operator would do it."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/draws/{date.isoformat()}/close",
        method="POST",
        headers={"X-Operator-Token": OPERATOR_TOKEN},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        return json.loads(response.read())


def verdict(page: Page) -> str:
    result = page.locator("#verdict")
    expect(result).not_to_be_empty(timeout=30_000)
    return result.inner_text().strip()


def assert_fits_width(page: Page) -> None:
    """Nothing sticks out sideways: no horizontal scrolling of the page itself."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (
        f"{page.url} is {overflow}px wider than the {page.viewport_size['width']}px viewport"
    )


def ballot_ids_in(page: Page) -> list[int]:
    return [int(m) for m in re.findall(r'id="ballot-(\d+)"', page.content())]
