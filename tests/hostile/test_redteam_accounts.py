"""Red team: one mailbox, two spellings of its address.

- Staff add (or edit) a user in the admin as `Jane.Doe@Example.org`. The admin's form saved
  it as typed, while every lookup (sign-in, sign-up, forgot-password) lowercases: the owner
  could never sign in or reset, and anyone signing up `jane.doe@example.org` got a 500
  (the case-insensitive unique index refused the insert, the exact lookup found nothing).
- An outsider signs up the victim's address spelled with an invisible soft hyphen, a
  zero-width space or fullwidth letters in the domain. Django's validator accepts each, and
  mail to each is delivered to the victim's own mailbox (IDNA), yet each was a new account:
  instead of the "you already have an account" notice, the victim got a confirmation link
  that, once clicked, verified an account with the outsider's password on their mailbox.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from lottery.accounts.models import User
from tests.conftest import assert_problem, link_from
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "staff picked this passphrase 3"
ATTACKER_PASSWORD = "attacker knows this passphrase 1"


def post(path: str, body: dict) -> object:
    return APIClient(raise_request_exception=False).post(f"/api/v1{path}", body, format="json")


def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(staff=True, is_superuser=True))
    return client


def test_a_user_added_in_the_admin_with_capitals_signs_in_and_blocks_no_sign_up(delivered_mail):
    response = admin_client().post(
        "/admin/accounts/user/add/",
        {
            "email": "Jane.Doe@Example.org",
            "name": "Jane Doe",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:500]
    jane = User.objects.get(name="Jane Doe")
    assert jane.email == "jane.doe@example.org"

    signup = {"email": "jane.doe@example.org", "password": "someone else's passphrase 4", "name": "X"}
    assert post("/auth/signup", signup).status_code == 202
    assert User.objects.filter(email__iexact="jane.doe@example.org").count() == 1
    assert post("/auth/password/forgot", {"email": "JANE.DOE@example.org"}).status_code == 202
    assert any("/reset-password/" in m.body for m in delivered_mail() if m.to == ["jane.doe@example.org"])


def test_staff_editing_an_address_to_capitals_keeps_it_one_account(world):
    victim = world.victim
    page = f"/admin/accounts/user/{victim.pk}/change/"
    client = admin_client()
    form = client.get(page).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        email="Victim.Secret@Example.ORG",
        groups=[],
        user_permissions=[],
        date_joined_0=victim.date_joined.date().isoformat(),
        date_joined_1=victim.date_joined.time().isoformat(timespec="seconds"),
    )
    for name in ("password", "last_login", "date_joined", "banned_at", "email_verified_at", "bank_account"):
        data.pop(name, None)
    response = client.post(page, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    victim.refresh_from_db()
    assert victim.email == "victim.secret@example.org"
    signed_in = post("/auth/signin", {"email": "Victim.Secret@Example.ORG", "password": DEFAULT_PASSWORD})
    assert signed_in.status_code == 200


@pytest.mark.parametrize(
    "spelling",
    [
        "victim.secret@exa\u00admple.org",  # soft hyphen
        "victim.secret@exam\u200bple.org",  # zero-width space
        "victim.secret@\uff45xample.org",  # fullwidth e
        "victim.secret@EXAMPLE.\uff4frg",
    ],
)
def test_an_invisible_respelling_of_a_registered_address_is_that_address(world, delivered_mail, spelling):
    """The victim (verified, `victim.secret@example.org`) gets the notice, never a link."""
    signup = {"email": spelling, "password": ATTACKER_PASSWORD, "name": "Mallory"}
    assert post("/auth/signup", signup).status_code == 202
    to_victim = [m for m in delivered_mail() if m.to == [world.victim.email]]
    assert to_victim, "the sign-up mail went to the victim's mailbox"
    assert all("/verify-email/" not in m.body for m in to_victim)
    assert User.objects.filter(email__contains="victim.secret").count() == 1

    # And no way in through the respelling: the victim's password is the only one.
    assert_problem(
        post("/auth/signin", {"email": spelling, "password": ATTACKER_PASSWORD}), 401, "invalid_credentials"
    )
    assert post("/auth/signin", {"email": spelling, "password": DEFAULT_PASSWORD}).status_code == 200


def test_a_respelled_address_links_to_the_one_account(delivered_mail):
    """A new address typed two ways is one account, verified by its one newest link."""
    assert (
        post(
            "/auth/signup", {"email": "new@exa\u00admple.org", "password": ATTACKER_PASSWORD, "name": "A"}
        ).status_code
        == 202
    )
    assert (
        post("/auth/signup", {"email": "new@example.org", "password": NEW_PASSWORD, "name": "B"}).status_code
        == 202
    )
    assert list(User.objects.values_list("email", flat=True)) == ["new@example.org"]
    links = [link_from(m, "verify-email") for m in delivered_mail() if "/verify-email/" in m.body]
    assert post("/auth/verify-email", {"token": links[-1]}).status_code == 200
    assert post("/auth/signin", {"email": "new@example.org", "password": NEW_PASSWORD}).status_code == 200
