"""What a person sees when things go wrong: wrong password, declined card, closed draw, 404."""

import re

import pytest
from playwright.sync_api import expect

from lottery.draws.models import Ballot
from lottery.payments.models import Order
from tests.e2e import steps
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_a_wrong_password_keeps_the_visitor_on_sign_in_with_a_clear_message(desktop, db):
    user = UserFactory()
    page = desktop.page
    page.goto("/")
    steps.nav(page, "Sign in")
    steps.sign_in(page, email=user.email, password="not my password")
    expect(page).to_have_url(re.compile(r"/signin$"))
    expect(page.get_by_role("alert")).to_contain_text("The e-mail address or password is wrong.")
    expect(page.get_by_label("E-mail address")).to_have_value(user.email)
    expect(page.get_by_role("link", name="Forgot your password?")).to_be_visible()


def test_an_unverified_account_is_told_how_to_get_a_new_link(desktop, db):
    user = UserFactory(unverified=True)
    page = desktop.page
    steps.sign_in(page, email=user.email)
    expect(page.get_by_role("alert")).to_contain_text("Please confirm your e-mail address first")
    page.get_by_role("link", name="Send me a new confirmation link").click()
    expect(page.get_by_label("E-mail address")).to_have_value(user.email)


def test_a_declined_card_shows_why_and_buys_nothing(desktop, db):
    user = UserFactory()
    steps.open_draws(days=1)
    page = desktop.page
    steps.sign_in(page, email=user.email)
    page.goto("/ballots/buy")
    steps.pay(page, quantity=3, card=steps.DECLINED_CARD)
    expect(page).to_have_url(re.compile(r"/ballots/buy$"))
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined. No money was taken.")
    expect(page.get_by_label("Number of ballots")).to_have_value("3")
    expect(page.get_by_label("Card number")).to_have_value(steps.DECLINED_CARD)
    expect(page.get_by_label("Security code (CVC)")).to_have_value("")
    assert not Order.objects.exists() and not Ballot.objects.exists()
    # The same form then goes through with a good card, once.
    steps.pay(page, quantity=3)
    expect(page.locator(".alert-success")).to_contain_text("You bought 3 ballots")
    assert Order.objects.count() == 1 and Ballot.objects.count() == 3


def test_the_pay_button_submits_only_once(desktop, db):
    user = UserFactory()
    steps.open_draws(days=1)
    page = desktop.page
    steps.sign_in(page, email=user.email)
    page.goto("/ballots/buy")
    page.get_by_label("Card number").fill(steps.GOOD_CARD)
    page.get_by_label("Expiry month").select_option("12")
    page.get_by_label("Expiry year").fill("2099")
    page.get_by_label("Security code (CVC)").fill("123")
    disabled = page.evaluate(
        """() => {
             const form = document.querySelector("form[data-once]");
             form.requestSubmit();
             const button = form.querySelector("button[type=submit]");
             const state = [button.disabled, button.textContent];
             form.requestSubmit();  // a second press while the first is on its way
             return state;
           }"""
    )
    assert disabled == [True, "Paying…"]
    expect(page.locator(".alert-success")).to_contain_text("You bought 1 ballot")
    assert Order.objects.count() == 1


def test_buying_into_a_draw_that_closed_meanwhile_is_refused(desktop, live_server, db):
    user = UserFactory()
    [tonight] = steps.open_draws(days=1)
    page = desktop.page
    steps.sign_in(page, email=user.email)
    page.goto(f"/ballots/buy?draw={tonight.date.isoformat()}")
    steps.operator_close(live_server.url, tonight.date)  # closes while the form is open
    steps.pay(page, quantity=1)
    expect(page.get_by_role("alert")).to_contain_text("Please correct")
    expect(page.locator("#id_draw_errors")).to_have_text("This draw no longer accepts ballots.")
    assert not Ballot.objects.exists()
    page.goto(f"/draws/{tonight.date.isoformat()}")
    expect(page.get_by_role("link", name="Buy ballots for this draw")).to_have_count(0)


def test_assigning_into_a_draw_that_closed_meanwhile_explains_in_the_row(desktop, live_server, db):
    from tests.factories import make_ballots

    user = UserFactory()
    tonight, _tomorrow = steps.open_draws(days=2)
    [ballot] = make_ballots(user, 1)
    page = desktop.page
    steps.sign_in(page, email=user.email)
    row = page.locator(f"#ballot-{ballot.pk}")
    expect(row).to_be_visible()
    steps.htmx_ready(page)
    row.get_by_label(re.compile("Draw for ballot")).select_option(tonight.date.isoformat())
    steps.operator_close(live_server.url, tonight.date)
    row.get_by_role("button", name=re.compile("^Assign")).click()
    expect(page.locator(f"#ballot-{ballot.pk} .row-error")).to_have_text(
        "This draw no longer accepts ballots."
    )
    ballot.refresh_from_db()
    assert ballot.draw_id is None


def test_an_unknown_page_is_a_friendly_404_with_a_way_back(desktop, db):
    desktop.problems.allow(r"status of 404")
    page = desktop.page
    response = page.goto("/draws/2031-01-01")
    assert response.status == 404
    expect(page.get_by_role("heading", name="We can't find that page")).to_be_visible()
    page.get_by_role("link", name="Go to today's draw").click()
    expect(page).to_have_url(re.compile(r"/$"))
