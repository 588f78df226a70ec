"""Account pages: sign up, verify, sign in/out, resend, forgot/reset password, profile."""

import pytest
from django.core import mail
from django.test import Client
from knox.models import AuthToken

from lottery.accounts import tokens
from lottery.accounts.models import User
from lottery.accounts.services import auth_token_create
from lottery.core.models import OutboxEmail
from tests.conftest import link_from
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.web.conftest import IBAN, IBAN_MASKED, html, messages_of

pytestmark = pytest.mark.django_db

STRONG = "a very long and unusual passphrase 42"


def signup(client, **fields):
    data = {"name": "Jane Doe", "email": "jane@example.com", "password": STRONG, **fields}
    return client.post("/signup", data)


# --- sign up -------------------------------------------------------------------------------


def test_signup_page_has_labelled_fields(client):
    page = html(client.get("/signup"))
    for field in ("name", "email", "password"):
        assert f'<label for="id_{field}">' in page
    assert 'autocomplete="new-password"' in page and "csrfmiddlewaretoken" in page


def test_signup_creates_an_unverified_account_and_says_check_your_inbox(client, delivered_mail):
    response = signup(client)
    assert response.status_code == 200
    assert "Check your inbox" in html(response) and "jane@example.com" in html(response)
    user = User.objects.get(email="jane@example.com")
    assert not user.email_verified
    [message] = delivered_mail()
    assert link_from(message, "verify-email")


def test_signup_answers_the_same_for_an_address_that_already_has_an_account(client):
    UserFactory(email="jane@example.com")
    response = signup(client)
    assert "Check your inbox" in html(response)
    assert User.objects.filter(email="jane@example.com").count() == 1


def test_signup_with_a_weak_password_says_what_to_fix_and_keeps_the_other_input(client):
    response = signup(client, password="12345678")
    page = html(response)
    assert response.status_code == 200
    assert "This password is too common." in page or "entirely numeric" in page
    assert 'value="Jane Doe"' in page and 'value="jane@example.com"' in page
    assert "12345678" not in page  # a password is never echoed back
    assert 'aria-invalid="true"' in page
    assert not User.objects.exists()


def test_signup_with_missing_fields_marks_each_field(client):
    page = html(client.post("/signup", {"name": "", "email": "not-an-email", "password": ""}))
    assert page.count('class="field-errors"') == 3
    assert "Enter a valid email address." in page


def test_signup_is_rate_limited_like_the_api(client, settings):
    for n in range(20):
        signup(client, email=f"person{n}@example.com")
    response = signup(client, email="one-too-many@example.com")
    assert "Too many attempts" in html(response)
    assert not User.objects.filter(email="one-too-many@example.com").exists()


def test_a_signed_in_user_visiting_signup_goes_home(browser):
    assert browser.get("/signup").url == "/"


# --- verify e-mail ---------------------------------------------------------------------------


def test_verification_link_shows_a_confirm_button_and_does_not_use_the_token(client):
    user = UserFactory(unverified=True)
    token = tokens.email_verification_token(user)
    response = client.get(f"/verify-email/{token}")
    assert response.status_code == 200
    assert "Confirm my e-mail address" in html(response) and 'method="post"' in html(response)
    user.refresh_from_db()
    assert not user.email_verified  # mail scanners open links: GET changes nothing


def test_confirming_verifies_the_address_and_sends_to_sign_in(client):
    user = UserFactory(unverified=True, name="Jane Doe")
    token = tokens.email_verification_token(user)
    response = client.post(f"/verify-email/{token}", follow=True)
    assert response.redirect_chain[-1][0] == "/signin"
    assert any("your e-mail address is confirmed" in m for m in messages_of(response))
    user.refresh_from_db()
    assert user.email_verified
    again = client.post(f"/verify-email/{token}")
    assert again.status_code == 400
    assert "invalid, has expired or has already been used" in html(again)


def test_a_bad_verification_token_says_so_and_offers_a_new_link(client):
    response = client.post("/verify-email/not-a-token")
    assert response.status_code == 400
    assert 'href="/resend-verification"' in html(response)


def test_resend_verification_sends_a_new_link_with_a_generic_message(client, delivered_mail):
    user = UserFactory(unverified=True)
    response = client.post("/resend-verification", {"email": user.email}, follow=True)
    assert response.redirect_chain[-1][0] == "/signin"
    assert any("If this address has an unconfirmed account" in m for m in messages_of(response))
    [message] = delivered_mail()
    assert message.to == [user.email]
    unknown = client.post("/resend-verification", {"email": "nobody@example.com"}, follow=True)
    assert any("If this address has an unconfirmed account" in m for m in messages_of(unknown))


def test_resend_verification_prefills_the_address_and_validates_it(client):
    assert 'value="jane@example.com"' in html(client.get("/resend-verification?email=jane@example.com"))
    assert "Enter a valid email address." in html(client.post("/resend-verification", {"email": "x"}))


# --- sign in / out ---------------------------------------------------------------------------


def test_signin_starts_a_session_and_goes_to_my_ballots(client, player):
    response = client.post(
        "/signin", {"email": player.email.upper(), "password": DEFAULT_PASSWORD}, follow=True
    )
    assert response.redirect_chain[0][0] == "/ballots"
    assert any("Welcome back" in m for m in messages_of(response))
    assert response.context["user"] == player


def test_signin_follows_a_safe_next_and_ignores_an_unsafe_one(client, player):
    login = {"email": player.email, "password": DEFAULT_PASSWORD}
    assert client.post("/signin", {**login, "next": "/profile"}).url == "/profile"
    client.post("/signout")
    assert client.post("/signin", {**login, "next": "https://evil.example/"}).url == "/ballots"


def test_protected_pages_send_visitors_to_sign_in_and_back(client, db):
    for path in ("/ballots", "/ballots/buy", "/winnings", "/profile"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url == f"/signin?next={path}"
    assert 'value="/profile"' in html(client.get("/signin?next=/profile"))


def test_signin_with_a_wrong_password_says_so_and_keeps_the_email(client, player):
    response = client.post("/signin", {"email": player.email, "password": "wrong password"})
    page = html(response)
    assert response.status_code == 200
    assert "The e-mail address or password is wrong." in page
    assert f'value="{player.email}"' in page
    assert "_auth_user_id" not in client.session


def test_signin_of_an_unverified_user_explains_and_links_to_resend(client):
    user = UserFactory(unverified=True)
    page = html(client.post("/signin", {"email": user.email, "password": DEFAULT_PASSWORD}))
    assert "Please confirm your e-mail address first" in page
    assert "/resend-verification?email=" in page
    assert "_auth_user_id" not in client.session


def test_signin_is_rate_limited_per_account(client, player):
    for _ in range(10):
        client.post("/signin", {"email": player.email, "password": "wrong password"})
    page = html(client.post("/signin", {"email": player.email, "password": DEFAULT_PASSWORD}))
    assert "Too many attempts" in page
    assert "_auth_user_id" not in client.session


def test_signin_form_and_api_share_one_rate_limit(client, api, player):
    for _ in range(10):
        api.post("/api/v1/auth/signin", {"email": player.email, "password": "nope"}, format="json")
    assert "Too many attempts" in html(client.post("/signin", {"email": player.email, "password": "nope"}))


def test_signout_is_a_post_that_ends_the_session(browser):
    assert browser.get("/signout").status_code == 405
    response = browser.post("/signout", follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert any("You are signed out" in m for m in messages_of(response))
    assert browser.get("/ballots").status_code == 302


def test_signin_form_needs_the_csrf_token(player):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/signin", {"email": player.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 403


# --- forgot / reset password -------------------------------------------------------------------


def test_forgot_password_mails_a_reset_link_with_a_generic_message(client, player, delivered_mail):
    response = client.post("/forgot-password", {"email": player.email}, follow=True)
    assert any("If this address has an account" in m for m in messages_of(response))
    [message] = delivered_mail()
    assert link_from(message, "reset-password")
    unknown = client.post("/forgot-password", {"email": "nobody@example.com"}, follow=True)
    assert any("If this address has an account" in m for m in messages_of(unknown))
    assert len(delivered_mail()) == 1


def test_reset_password_page_with_a_bad_link_says_so(client, db):
    response = client.get("/reset-password/bad.token")
    assert response.status_code == 400
    assert "This link does not work" in html(response) and 'href="/forgot-password"' in html(response)


def test_reset_password_checks_the_two_entries_and_strength(client, player):
    token = tokens.password_reset_token(player)
    assert "Choose a new password" in html(client.get(f"/reset-password/{token}"))
    mismatch = html(client.post(f"/reset-password/{token}", {"password": STRONG, "password2": STRONG + "x"}))
    assert "The two passwords do not match." in mismatch
    weak = html(client.post(f"/reset-password/{token}", {"password": "password", "password2": "password"}))
    assert "This password is too common." in weak
    player.refresh_from_db()
    assert player.check_password(DEFAULT_PASSWORD)


def test_reset_password_sets_the_new_password_and_revokes_tokens(client, player):
    auth_token_create(user=player)
    token = tokens.password_reset_token(player)
    response = client.post(f"/reset-password/{token}", {"password": STRONG, "password2": STRONG}, follow=True)
    assert response.redirect_chain[-1][0] == "/signin"
    assert any("Your password has been changed" in m for m in messages_of(response))
    player.refresh_from_db()
    assert player.check_password(STRONG)
    assert not AuthToken.objects.filter(user=player).exists()
    used = client.post(f"/reset-password/{token}", {"password": STRONG, "password2": STRONG})
    assert "invalid, has expired or has already been used" in html(used)


# --- profile --------------------------------------------------------------------------------


def test_profile_shows_the_iban_masked_never_in_full(browser, player):
    player.bank_account = IBAN
    player.save()
    page = html(browser.get("/profile"))
    assert IBAN_MASKED in page
    assert IBAN not in page and "3704 0044" not in page
    assert player.email in page


def test_profile_saves_a_valid_iban_in_electronic_format(browser, player):
    response = browser.post(
        "/profile",
        {"action": "profile", "name": "Jane Q. Doe", "bank_account": "de89 3704 0044 0532 0130 00"},
        follow=True,
    )
    assert any("Your profile is saved" in m for m in messages_of(response))
    player.refresh_from_db()
    assert player.bank_account == IBAN and player.name == "Jane Q. Doe"
    assert IBAN_MASKED in html(response)


def test_profile_rejects_an_invalid_iban_and_keeps_the_input(browser, player):
    response = browser.post("/profile", {"action": "profile", "name": "Jane", "bank_account": "DE00 1234"})
    page = html(response)
    assert "Not a valid IBAN" in page
    assert 'value="DE00 1234"' in page
    player.refresh_from_db()
    assert player.bank_account == ""


def test_profile_keeps_the_iban_when_left_empty_and_removes_it_on_request(browser, player):
    player.bank_account = IBAN
    player.save()
    browser.post("/profile", {"action": "profile", "name": "Jane", "bank_account": ""})
    player.refresh_from_db()
    assert player.bank_account == IBAN
    browser.post("/profile", {"action": "profile", "name": "Jane", "remove_bank_account": "on"})
    player.refresh_from_db()
    assert player.bank_account == ""


def test_password_change_with_a_wrong_current_password_marks_that_field(browser, player):
    page = html(
        browser.post(
            "/profile",
            {
                "action": "password",
                "current_password": "wrong",
                "new_password": STRONG,
                "new_password2": STRONG,
            },
        )
    )
    assert "The current password is wrong." in page
    assert 'id="id_current_password_errors"' in page


def test_password_change_checks_strength_and_confirmation(browser):
    weak = {
        "action": "password",
        "current_password": DEFAULT_PASSWORD,
        "new_password": "abc",
        "new_password2": "abc",
    }
    assert "too short" in html(browser.post("/profile", weak))
    mismatch = {**weak, "new_password": STRONG, "new_password2": "other"}
    assert "The two passwords do not match." in html(browser.post("/profile", mismatch))


def test_password_change_keeps_this_session_and_revokes_api_tokens(browser, player):
    auth_token_create(user=player)
    data = {
        "action": "password",
        "current_password": DEFAULT_PASSWORD,
        "new_password": STRONG,
        "new_password2": STRONG,
    }
    response = browser.post("/profile", data, follow=True)
    assert any("Your password is changed" in m for m in messages_of(response))
    player.refresh_from_db()
    assert player.check_password(STRONG)
    assert browser.get("/profile").status_code == 200  # still signed in here
    assert not AuthToken.objects.filter(user=player).exists()


def test_outbox_is_used_for_every_account_mail(client, player):
    client.post("/forgot-password", {"email": player.email})
    assert OutboxEmail.objects.filter(to=player.email).count() == 1
    assert mail.outbox == []  # delivered after commit / by the sweep, never inline
