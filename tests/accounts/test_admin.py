import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_ban_action_uses_the_service(client):
    admin_user = UserFactory(staff=True, is_superuser=True)
    client.force_login(admin_user)
    target = UserFactory()
    response = client.post(
        "/admin/accounts/user/", {"action": "ban_users", "_selected_action": [target.pk]}, follow=True
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.banned
    client.post("/admin/accounts/user/", {"action": "unban_users", "_selected_action": [target.pk]})
    target.refresh_from_db()
    assert not target.banned


@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/accounts/user/", "/admin/core/auditentry/", "/admin/core/outboxemail/"]
)
def test_admin_pages_render_for_staff(client, url):
    client.force_login(UserFactory(staff=True, is_superuser=True))
    assert client.get(url).status_code == 200


def _user_viewer(client):
    from django.contrib.auth.models import Permission

    staff = UserFactory(staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    "lookup",
    [
        "password__startswith",  # Django's own UserAdmin refuses this one; ours must still
        "password__regex",
        "auth_token_set__digest__startswith",  # the digest is knox's primary key: Django allows it
        "auth_token_set__token_key__startswith",
        "signup_attempt__password__startswith",
        "groups__user__password__startswith",
        "ballots__draw__seed__regex",
    ],
)
def test_user_admin_refuses_lookups_on_passwords_tokens_and_seeds(client, lookup):
    from lottery.accounts.services import auth_token_create

    viewer = _user_viewer(client)
    auth_token_create(user=UserFactory())
    response = viewer.get("/admin/accounts/user/", {lookup: "a"})
    assert response.status_code == 400
    assert viewer.get("/admin/accounts/user/", {"email__startswith": "user"}).status_code == 200


@pytest.mark.parametrize("rank", ["view-only", "superuser"])
def test_user_change_page_shows_the_password_hash_masked_only(client, rank):
    target = UserFactory()
    if rank == "superuser":
        client.force_login(UserFactory(staff=True, is_superuser=True))
    else:
        _user_viewer(client)
    page = client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    algorithm, salt, digest = target.password.split("$")
    assert f"<bdi>{algorithm}</bdi>" in page  # the masked summary is there
    assert salt not in page and digest not in page and digest[:8] not in page
