import pytest

from lottery.core.models import AuditEntry
from tests.conftest import assert_problem
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_bans_and_unbans_with_audit_entries(staff_api):
    target = UserFactory()
    response = staff_api.post(f"/api/v1/users/{target.pk}/ban", {"reason": "chargebacks"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"id": target.pk, "banned": True}
    target.refresh_from_db()
    assert target.banned and target.ban_reason == "chargebacks"
    assert staff_api.post(f"/api/v1/users/{target.pk}/ban").json() == {"id": target.pk, "banned": True}
    assert staff_api.post(f"/api/v1/users/{target.pk}/unban").json() == {"id": target.pk, "banned": False}
    actions = list(AuditEntry.objects.order_by("id").values_list("action", "actor_label"))
    assert actions == [("user.banned", staff_api.user.email), ("user.unbanned", staff_api.user.email)]


def test_ban_requires_staff(api, auth_api, user):
    target = UserFactory()
    assert_problem(api.post(f"/api/v1/users/{target.pk}/ban"), 401, "not_authenticated")
    assert_problem(auth_api.post(f"/api/v1/users/{target.pk}/ban"), 403, "forbidden")
    assert_problem(auth_api.post(f"/api/v1/users/{target.pk}/unban"), 403, "forbidden")
    target.refresh_from_db()
    assert not target.banned


def test_ban_unknown_user_is_404(staff_api):
    assert_problem(staff_api.post("/api/v1/users/999999/ban"), 404, "not_found")


def test_public_name_hides_the_last_name():
    assert UserFactory.build(name="Jane van Doe").public_name == "Jane D."
    assert UserFactory.build(name="Cher").public_name == "Cher"
    assert UserFactory.build(name="  ").public_name == "Anonymous"
