"""The newcomer's whole journey in a real Chromium, on a desktop and on a 360 px phone."""

import re

import pytest
from playwright.sync_api import expect

from lottery.accounts.models import User
from lottery.draws.models import Ballot
from tests.e2e import steps

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_newcomer_signs_up_buys_assigns_wins_and_verifies_the_draw(request, device, settings, live_server):
    settings.LOTTERY_BASE_URL = live_server.url  # links in e-mails point at this server
    browser = request.getfixturevalue(device)
    page = browser.page
    tonight, tomorrow = steps.open_draws()
    email = f"jane.{device}@example.com"

    # Home: today's draw with its countdown and prizes, and a way in.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Win €1,000.00 tonight")
    countdown = page.locator("[data-countdown-value]")
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3_000)  # the clock is live
    steps.assert_fits_width(page)
    page.get_by_role("link", name="Sign up and play").click()

    # Sign up, then open the verification link from the development mailbox.
    steps.sign_up(page, name="Jane Doe", email=email)
    page.goto("/dev/mailbox")
    page.locator("a[href*='/verify-email/']").first.click()
    expect(page.get_by_role("heading", name="Confirm your e-mail address")).to_be_visible()
    assert not User.objects.get(email=email).email_verified  # opening the link changed nothing
    page.get_by_role("button", name="Confirm my e-mail address").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.locator(".alert-success")).to_contain_text("your e-mail address is confirmed")

    # Sign in.
    steps.sign_in(page, email=email, password=steps.STRONG)
    expect(page).to_have_url(re.compile(r"/ballots$"))
    expect(page.locator(".alert-success")).to_contain_text("Welcome back, Jane Doe")

    # Buy two ballots with the sandbox card, kept unassigned.
    steps.nav(page, "Buy ballots")
    expect(page.get_by_role("heading", name="Buy ballots", level=1)).to_be_visible()
    steps.assert_fits_width(page)
    steps.pay(page, quantity=2, draw_label="Keep them unassigned (assign later)")
    expect(page).to_have_url(re.compile(r"/ballots\?status=unassigned$"))
    expect(page.locator(".alert-success")).to_contain_text("You bought 2 ballots for €5.00")
    rows = page.locator("tr.ballot-row")
    expect(rows).to_have_count(2)
    steps.assert_fits_width(page)

    # Assign one of them to tonight's draw in place (htmx): no page load, the row changes.
    steps.htmx_ready(page)
    page.evaluate("window.__samePage = true")
    row = rows.first
    row_id = row.get_attribute("id")
    row.get_by_label(re.compile(r"Draw for ballot")).select_option(tonight.date.isoformat())
    row.get_by_role("button", name=re.compile(r"^Assign")).click()
    swapped = page.locator(f"#{row_id}")
    expect(swapped.locator(".row-success")).to_contain_text("Assigned to the draw of")
    expect(swapped.locator(".badge")).to_have_text("In a draw")
    assert page.evaluate("window.__samePage") is True
    ballot_id = int(row_id.removeprefix("ballot-"))
    assert Ballot.objects.get(pk=ballot_id).draw_id == tonight.pk

    # The operator closes tonight's draw; its only ballot wins the jackpot.
    closed = steps.operator_close(browser.base_url, tonight.date)
    assert closed["status"] == "closed" and closed["ballot_count"] == 1

    # The draw's page shows the winners, the proof and the ballot list.
    page.goto(f"/draws/{tonight.date.isoformat()}")
    expect(page.locator(".badge").first).to_have_text("Closed")
    winners = page.locator(".winners-table")
    expect(winners).to_contain_text("Jane D.")
    expect(winners).to_contain_text(f"#{ballot_id}")
    expect(winners).to_contain_text("€1,000.00")
    expect(page.get_by_role("link", name="Download ballots.txt")).to_be_visible()
    steps.assert_fits_width(page)

    # In-browser verification re-runs every check and passes.
    page.get_by_role("link", name="Verify this draw in your browser").click()
    assert steps.verdict(page) == "All checks passed"
    expect(page.locator(".check.is-pass")).to_have_count(12)
    steps.assert_fits_width(page)
    page.get_by_label("Your ballot number").fill(str(ballot_id))
    page.get_by_role("button", name="Look up").click()
    expect(page.locator("#lookup-result")).to_contain_text(f"Ballot #{ballot_id} is in the list")

    # My winnings.
    steps.nav(page, "Winnings")
    expect(page.locator(".stat-value").first).to_have_text("€1,000.00")

    # Sign out.
    steps.nav_button(page, "Sign out")
    expect(page.locator(".alert-success")).to_contain_text("You are signed out")
    assert tomorrow.date  # the other open draw stayed untouched
