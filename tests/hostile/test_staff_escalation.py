"""A staff member allowed to change users must not turn that into more: superuser rights,
another account's mailbox, or a superuser's password. And whoever holds a session cannot
guess the current password at leisure."""

from django.contrib.auth.models import Permission
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from lottery.accounts.models import User
from lottery.accounts.services import auth_token_create
from tests.factories import DEFAULT_PASSWORD, UserFactory

NEW_PASSWORD = "a brand new passphrase 41"


def _user_changer() -> tuple[User, Client]:
    staff = UserFactory(staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client = Client()
    client.force_login(staff)
    return staff, client


def _change_form(user: User, **overrides: object) -> dict[str, object]:
    form: dict[str, object] = {
        "email": user.email,
        "name": user.name,
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def test_a_user_changer_cannot_set_a_superusers_password(db):
    boss = UserFactory(is_staff=True, is_superuser=True)
    _staff, client = _user_changer()
    response = client.post(
        f"/admin/accounts/user/{boss.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.check_password(DEFAULT_PASSWORD)


def test_a_user_changer_cannot_make_themselves_superuser(db):
    staff, client = _user_changer()
    client.post(
        f"/admin/accounts/user/{staff.pk}/change/",
        _change_form(staff, is_staff="on", is_superuser="on"),
    )
    staff.refresh_from_db()
    assert not staff.is_superuser
    assert not staff.user_permissions.filter(codename="delete_user").exists()


def test_a_user_changer_cannot_move_an_account_to_their_own_mailbox(db):
    victim = UserFactory()
    _staff, client = _user_changer()
    original = victim.email
    client.post(
        f"/admin/accounts/user/{victim.pk}/change/",
        _change_form(victim, email="attacker@example.org", name="Renamed By Staff"),
    )
    victim.refresh_from_db()
    assert victim.email == original


def test_a_superuser_still_manages_privileges(db):
    boss = UserFactory(is_staff=True, is_superuser=True)
    target = UserFactory()
    client = Client()
    client.force_login(boss)
    response = client.post(
        f"/admin/accounts/user/{target.pk}/change/",
        _change_form(target, email="moved@example.org", is_staff="on"),
    )
    assert response.status_code == 302, response.content[:500]
    target.refresh_from_db()
    assert target.email == "moved@example.org" and target.is_staff


def test_the_delete_confirmation_names_no_token_digest(db):
    boss = UserFactory(is_staff=True, is_superuser=True)
    owner = UserFactory()
    auth_token_create(user=owner)
    digest = AuthToken.objects.get(user=owner).digest
    client = Client()
    client.force_login(boss)
    page = client.get(f"/admin/accounts/user/{owner.pk}/delete/")
    assert page.status_code == 200
    assert digest.encode() not in page.content
    assert digest[:16].encode() not in page.content


def test_guessing_the_current_password_is_rate_limited(db, one_window):
    user = UserFactory()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=user)}")
    answers = [
        api.post(
            "/api/v1/me/password",
            {"current_password": f"guess {n}", "new_password": NEW_PASSWORD},
            format="json",
        ).status_code
        for n in range(12)
    ]
    assert answers[:10] == [403] * 10
    assert answers[10:] == [429, 429]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_guessing_the_current_password_on_the_profile_page_shares_the_limit(db, one_window):
    user = UserFactory()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=user)}")
    for n in range(10):
        api.post(
            "/api/v1/me/password",
            {"current_password": f"guess {n}", "new_password": NEW_PASSWORD},
            format="json",
        )
    page = Client()
    page.force_login(user)
    response = page.post(
        "/profile",
        {
            "action": "password",
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert b"Too many attempts" in response.content
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
