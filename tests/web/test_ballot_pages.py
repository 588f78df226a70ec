"""Player pages: buy ballots, my ballots (assign in place with htmx), my winnings."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from lottery.draws.models import Ballot
from lottery.draws.services import draw_close
from lottery.payments.models import Order
from tests.factories import UserFactory, make_ballots
from tests.web.conftest import GOOD_CARD, html, messages_of

pytestmark = pytest.mark.django_db


def card(**overrides):
    return {
        "card_number": GOOD_CARD,
        "expiry_month": "12",
        "expiry_year": str(timezone.now().year + 2),
        "cvc": "123",
        **overrides,
    }


def buy(client, *, quantity=1, draw="", key="key-1", **card_fields):
    data = {"quantity": quantity, "draw": str(draw), "idempotency_key": key, **card(**card_fields)}
    return client.post("/ballots/buy", data)


# --- buying ---------------------------------------------------------------------------------


def test_buy_page_offers_open_draws_and_carries_a_fresh_idempotency_key(browser, open_draw, later_draw):
    first, second = html(browser.get("/ballots/buy")), html(browser.get("/ballots/buy"))
    keys = [
        re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1) for page in (first, second)
    ]
    assert keys[0] != keys[1]
    assert f'<option value="{open_draw.date.isoformat()}" selected>' in first  # soonest draw by default
    assert f'<option value="{later_draw.date.isoformat()}">' in first
    assert "Keep them unassigned" in first
    assert 'autocomplete="cc-number"' in first and "data-once" in first
    assert "4242 4242 4242 4242" in first  # sandbox hint


def test_buy_page_preselects_the_draw_from_the_link(browser, open_draw, later_draw):
    page = html(browser.get(f"/ballots/buy?draw={later_draw.date.isoformat()}"))
    assert f'<option value="{later_draw.date.isoformat()}" selected>' in page


def test_buying_into_a_draw_charges_once_and_lands_on_my_ballots(browser, player, open_draw):
    response = buy(browser, quantity=3, draw=open_draw.date)
    assert response.status_code == 302 and response.url == "/ballots"
    page = browser.get(response.url)
    [message] = messages_of(page)
    assert "You bought 3 ballots for €7.50" in message
    assert Ballot.objects.filter(owner=player, draw=open_draw).count() == 3
    order = Order.objects.get(user=player)
    assert order.amount == 750 and order.idempotency_key == "key-1"


def test_buying_without_a_draw_keeps_the_ballots_unassigned(browser, player, open_draw):
    response = buy(browser, quantity=2)
    assert response.url == "/ballots?status=unassigned"
    assert Ballot.objects.filter(owner=player, draw__isnull=True).count() == 2


def test_a_double_submitted_purchase_charges_once(browser, player, open_draw):
    first = buy(browser, quantity=2, draw=open_draw.date, key="same-key")
    second = buy(browser, quantity=2, draw=open_draw.date, key="same-key")
    assert first.status_code == second.status_code == 302
    assert Order.objects.filter(user=player).count() == 1
    assert Ballot.objects.filter(owner=player).count() == 2


def test_reusing_a_key_for_a_different_purchase_is_refused_with_a_fresh_key(browser, player, open_draw):
    buy(browser, quantity=2, draw=open_draw.date, key="same-key")
    page = html(buy(browser, quantity=5, draw=open_draw.date, key="same-key"))
    assert "This form was already used for another purchase" in page
    assert 'name="idempotency_key" value="same-key"' not in page
    assert Ballot.objects.filter(owner=player).count() == 2


def test_a_declined_card_says_so_and_buys_nothing(browser, player, open_draw):
    response = buy(browser, draw=open_draw.date, card_number="4000 0000 0000 0002")
    page = html(response)
    assert response.status_code == 200
    assert "Your card was declined. No money was taken." in page
    assert 'value="4000 0000 0000 0002"' in page  # input kept …
    assert 'name="cvc" value="123"' not in page  # … except the security code
    assert not Ballot.objects.filter(owner=player).exists()


def test_insufficient_funds_is_a_clear_decline(browser, open_draw):
    page = html(buy(browser, draw=open_draw.date, card_number="4000000000009995"))
    assert "insufficient funds" in page


def test_an_invalid_card_number_is_marked_on_its_field(browser, player, open_draw):
    page = html(buy(browser, draw=open_draw.date, card_number="4242 4242 4242 4241"))
    assert "This card number is not valid." in page
    assert 'id="id_card_number_errors"' in page
    assert not Ballot.objects.exists()


def test_an_expired_card_is_marked_on_the_expiry(browser, open_draw):
    page = html(buy(browser, draw=open_draw.date, expiry_year=str(timezone.now().year - 1)))
    assert "This card has expired." in page
    assert 'id="id_expiry_year_errors"' in page


def test_malformed_card_fields_are_caught_before_any_charge(browser, open_draw):
    page = html(buy(browser, quantity=0, card_number="abc", expiry_month="13", expiry_year="99", cvc="1"))
    for field in ("quantity", "card_number", "expiry_month", "expiry_year", "cvc"):
        assert f'id="id_{field}_errors"' in page, field
    assert not Order.objects.exists()


def test_buying_into_a_draw_that_closed_meanwhile_is_refused(browser, player, open_draw):
    draw_close(draw_id=open_draw.pk, clock=timezone.now)
    page = html(buy(browser, draw=open_draw.date))
    assert "This draw no longer accepts ballots." in page
    assert 'id="id_draw_errors"' in page
    assert not Ballot.objects.filter(owner=player).exists()


def test_a_banned_player_sees_why_and_gets_no_buy_form(db, open_draw):
    banned = UserFactory(banned=True, ban_reason="Chargeback fraud")
    client = Client()
    client.force_login(banned)
    page = html(client.get("/ballots/buy"))
    assert "Your account is banned" in page and "Chargeback fraud" in page
    assert 'name="card_number"' not in page
    assert "Chargeback fraud" in html(client.get("/ballots"))
    client.post("/ballots/buy", {"quantity": 1, "idempotency_key": "k", **card()})
    assert not Order.objects.exists()


def test_an_unverified_session_is_told_to_confirm_the_address(db, open_draw):
    client = Client()
    client.force_login(UserFactory(unverified=True))
    page = html(client.get("/ballots/buy"))
    assert "Please confirm your e-mail address first" in page and 'href="/resend-verification"' in page


# --- my ballots ----------------------------------------------------------------------------------


def test_my_ballots_lists_only_mine_with_status_and_filters(browser, player, open_draw, closed_draw):
    loose = make_ballots(player, 2)
    others = make_ballots(UserFactory(), 1)
    page = html(browser.get("/ballots"))
    assert f'id="ballot-{loose[0].pk}"' in page
    assert f'id="ballot-{others[0].pk}"' not in page
    assert "Unassigned" in page and "Won" in page
    unassigned = html(browser.get("/ballots?status=unassigned"))
    assert unassigned.count('class="ballot-row"') == 2
    assert 'href="?status=unassigned" class="tab" aria-current="page"' in unassigned
    won = html(browser.get("/ballots?status=won"))
    assert won.count('class="ballot-row"') == 3 and "Jackpot" in won
    assert "No ballots with this status." in html(browser.get("/ballots?status=assigned"))


def test_unassigned_ballots_have_an_assign_form_that_works_without_javascript(browser, player, open_draw):
    [ballot] = make_ballots(player, 1)
    page = html(browser.get("/ballots"))
    assert (
        f'action="/ballots/{ballot.pk}/assign"' in page and f'hx-post="/ballots/{ballot.pk}/assign"' in page
    )
    response = browser.post(
        f"/ballots/{ballot.pk}/assign", {"draw": open_draw.date.isoformat(), "next": "/ballots"}
    )
    assert response.status_code == 302 and response.url == "/ballots"
    assert any(f"Ballot #{ballot.pk} is in the draw" in m for m in messages_of(browser.get("/ballots")))
    ballot.refresh_from_db()
    assert ballot.draw_id == open_draw.pk


def test_assigning_with_htmx_returns_just_the_updated_row(browser, player, open_draw):
    [ballot] = make_ballots(player, 1)
    response = browser.post(
        f"/ballots/{ballot.pk}/assign", {"draw": open_draw.date.isoformat()}, HTTP_HX_REQUEST="true"
    )
    page = html(response)
    assert response.status_code == 200
    assert page.startswith(f'<tr id="ballot-{ballot.pk}"')
    assert "<html" not in page
    assert "Assigned to the draw of" in page and "In a draw" in page
    assert f'action="/ballots/{ballot.pk}/assign"' not in page


def test_assigning_into_a_closed_draw_explains_in_the_row(browser, player, open_draw):
    [ballot] = make_ballots(player, 1)
    draw_close(draw_id=open_draw.pk, clock=timezone.now)
    response = browser.post(
        f"/ballots/{ballot.pk}/assign", {"draw": open_draw.date.isoformat()}, HTTP_HX_REQUEST="true"
    )
    assert "This draw no longer accepts ballots." in html(response)
    ballot.refresh_from_db()
    assert ballot.draw_id is None


def test_assigning_twice_or_someone_elses_ballot_fails_cleanly(browser, player, open_draw, later_draw):
    [ballot] = make_ballots(player, 1, draw=open_draw)
    response = browser.post(
        f"/ballots/{ballot.pk}/assign", {"draw": later_draw.date.isoformat()}, follow=True
    )
    assert any("already in a draw" in m for m in messages_of(response))
    [theirs] = make_ballots(UserFactory(), 1)
    assert (
        browser.post(
            f"/ballots/{theirs.pk}/assign", {"draw": open_draw.date.isoformat()}, HTTP_HX_REQUEST="true"
        ).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.draw_id is None


def test_assign_ignores_an_offsite_next(browser, player, open_draw):
    [ballot] = make_ballots(player, 1)
    response = browser.post(
        f"/ballots/{ballot.pk}/assign", {"draw": open_draw.date.isoformat(), "next": "https://evil.example/"}
    )
    assert response.url == "/ballots"


def test_my_ballots_paginates(browser, player):
    make_ballots(player, 30)
    first = html(browser.get("/ballots"))
    assert first.count('class="ballot-row"') == 25 and "Page 1 of 2" in first
    assert html(browser.get("/ballots?page=2")).count('class="ballot-row"') == 5


def test_banned_player_keeps_seeing_their_ballots_but_cannot_assign(db, open_draw):
    banned = UserFactory(banned=True, ban_reason="Terms violation")
    make_ballots(banned, 1)
    client = Client()
    client.force_login(banned)
    page = html(client.get("/ballots"))
    assert "Terms violation" in page and 'class="ballot-row"' in page
    assert "/assign" not in page


# --- winnings -------------------------------------------------------------------------------------


def test_winnings_lists_prizes_and_the_total(browser, closed_draw):
    page = html(browser.get("/winnings"))
    # Three ballots, six prize slots: each ballot wins one, highest first (1,000 + 5 + 5).
    assert "€1,010.00" in page
    assert page.count(f'href="/draws/{closed_draw.date.isoformat()}"') == 3


def test_winnings_without_prizes_encourages(browser):
    assert "No prizes yet" in html(browser.get("/winnings"))
