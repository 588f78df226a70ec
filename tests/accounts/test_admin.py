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
