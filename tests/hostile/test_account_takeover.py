"""Account takeover, performed from outside through the API and the pages.

- pre-account-hijacking: the attacker registers the victim's address first, hoping the
  victim confirms it (or signs up again and confirms) with the attacker's password;
- a compromised account whose password staff change in the admin: the attacker's bearer
  tokens and sessions must die with the old password;
- the same new address signed up twice at once must not crash (a 500) nor make two accounts.
"""

import threading

import pytest
from django.db import connection
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from lottery.accounts.models import AccountSession, User
from tests.conftest import assert_problem, link_from
from tests.factories import UserFactory

VICTIM = "victim@example.org"
ATTACKER_PASSWORD = "attacker knows this passphrase 1"
VICTIM_PASSWORD = "victim chose this passphrase 2"
ATTACKER_IBAN = "GB33BUKB20201555555555"


def post(client, path, body):
    return client.post(f"/api/v1{path}", body, format="json")


def signup(password, name, email=VICTIM):
    response = post(APIClient(), "/auth/signup", {"email": email, "password": password, "name": name})
    assert response.status_code == 202, response.content


def signin(password, email=VICTIM):
    return post(APIClient(), "/auth/signin", {"email": email, "password": password})


def verify_links(messages):
    """The verification links in the victim's mailbox, oldest first."""
    return [link_from(m, "verify-email") for m in messages if m.to == [VICTIM] and "/verify-email/" in m.body]


@pytest.mark.django_db
def test_registering_the_victims_address_first_never_gives_the_attacker_access(delivered_mail):
    signup(ATTACKER_PASSWORD, "Mallory Attacker")
    assert_problem(signin(ATTACKER_PASSWORD), 403, "email_not_verified")  # no token before verification

    # The victim signs up later, and confirms with the newest link in their mailbox (the page).
    signup(VICTIM_PASSWORD, "Vic Victim")
    attackers_link, victims_link = verify_links(delivered_mail())
    page = Client()
    assert page.get(f"/verify-email/{victims_link}").status_code == 200
    assert page.post(f"/verify-email/{victims_link}").status_code == 302

    assert_problem(signin(ATTACKER_PASSWORD), 401, "invalid_credentials")
    signed_in = signin(VICTIM_PASSWORD)
    assert signed_in.status_code == 200 and signed_in.json()["user"]["name"] == "Vic Victim"
    victim = User.objects.get(email=VICTIM)
    assert AuthToken.objects.filter(user=victim).count() == 1  # the victim's own, nobody else's
    assert_problem(post(APIClient(), "/auth/verify-email", {"token": attackers_link}), 400, "invalid_token")

    # Signing up again now only mails the owner; the attacker's password still does nothing.
    signup(ATTACKER_PASSWORD, "Mallory Attacker")
    assert "already have an account" in delivered_mail()[-1].subject
    assert "/verify-email/" not in delivered_mail()[-1].body
    assert_problem(signin(ATTACKER_PASSWORD), 401, "invalid_credentials")
    nobody = APIClient()
    assert_problem(
        nobody.patch("/api/v1/me", {"bank_account": ATTACKER_IBAN}, format="json"), 401, "not_authenticated"
    )
    victim.refresh_from_db()
    assert victim.bank_account == "" and victim.name == "Vic Victim"


@pytest.mark.django_db
def test_the_attackers_older_link_cannot_verify_the_account_with_the_attackers_password(delivered_mail):
    signup(ATTACKER_PASSWORD, "Mallory Attacker")
    signup(VICTIM_PASSWORD, "Vic Victim")
    attackers_link, _ = verify_links(delivered_mail())
    # The victim clicks the older of the two mails (it was the attacker's sign-up).
    refused = Client().post(f"/verify-email/{attackers_link}")
    assert refused.status_code == 400
    assert_problem(post(APIClient(), "/auth/verify-email", {"token": attackers_link}), 400, "invalid_token")
    assert not User.objects.get(email=VICTIM).email_verified
    assert signin(ATTACKER_PASSWORD).status_code in {401, 403}
    assert "token" not in signin(ATTACKER_PASSWORD).json()


@pytest.mark.django_db
def test_a_reset_of_the_pre_registered_account_leaves_the_attacker_nothing(delivered_mail):
    signup(ATTACKER_PASSWORD, "Mallory Attacker")
    [attackers_link] = verify_links(delivered_mail())
    # The victim never signed up, but uses "forgot password" for their address.
    assert post(APIClient(), "/auth/password/forgot", {"email": VICTIM}).status_code == 202
    reset = link_from(delivered_mail()[-1], "reset-password")
    page = Client()
    page.post(f"/reset-password/{reset}", {"password": VICTIM_PASSWORD, "password2": VICTIM_PASSWORD})
    assert signin(VICTIM_PASSWORD).status_code == 200
    assert_problem(signin(ATTACKER_PASSWORD), 401, "invalid_credentials")
    assert_problem(post(APIClient(), "/auth/verify-email", {"token": attackers_link}), 400, "invalid_token")


@pytest.mark.django_db
def test_an_admin_password_change_ends_the_attackers_tokens_and_sessions(delivered_mail):
    victim = UserFactory(email=VICTIM)
    victim.set_password(ATTACKER_PASSWORD)  # the attacker learned the password
    victim.save()
    token = signin(ATTACKER_PASSWORD).json()["token"]
    attacker_api = APIClient()
    attacker_api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    attacker_page = Client()
    assert attacker_page.post("/signin", {"email": VICTIM, "password": ATTACKER_PASSWORD}).status_code == 302
    assert (
        attacker_api.get("/api/v1/me").status_code == 200 and attacker_page.get("/profile").status_code == 200
    )

    support = Client()
    support.force_login(UserFactory(staff=True, is_superuser=True))
    changed = support.post(
        f"/admin/accounts/user/{victim.pk}/password/",
        {"password1": VICTIM_PASSWORD, "password2": VICTIM_PASSWORD, "usable_password": "true"},
    )
    assert changed.status_code == 302

    assert_problem(attacker_api.get("/api/v1/me"), 401, "not_authenticated")
    assert_problem(
        attacker_api.patch("/api/v1/me", {"bank_account": ATTACKER_IBAN}, format="json"),
        401,
        "not_authenticated",
    )
    assert attacker_page.get("/profile").status_code == 302
    assert not AccountSession.objects.filter(user_id=victim.pk).exists()
    assert any(m.to == [VICTIM] and m.subject == "Your password was changed" for m in delivered_mail())


SIGNUPS_AT_ONCE = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL")
def test_the_same_new_address_signed_up_at_once_makes_one_account_and_no_error(delivered_mail):
    barrier = threading.Barrier(SIGNUPS_AT_ONCE)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def sign_up(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            body = {"email": VICTIM, "password": f"{VICTIM_PASSWORD} {n}", "name": f"Person {n}"}
            statuses.append(post(APIClient(), "/auth/signup", body).status_code)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(SIGNUPS_AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert statuses == [202] * SIGNUPS_AT_ONCE
    assert User.objects.filter(email=VICTIM).count() == 1
    # Each sign-up was mailed; only the newest link works, with that sign-up's password.
    links = verify_links(delivered_mail())
    assert len(links) == SIGNUPS_AT_ONCE
    working = [
        link for link in links if post(APIClient(), "/auth/verify-email", {"token": link}).status_code == 200
    ]
    assert len(working) == 1
    name = User.objects.get(email=VICTIM).name
    assert signin(f"{VICTIM_PASSWORD} {name.split()[-1]}").status_code == 200
