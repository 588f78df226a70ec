"""Admin actions change things: a staff member allowed only to look cannot run them."""

from django.contrib.auth.models import Permission
from django.test import Client

from lottery.draws.models import Draw
from tests.factories import UserFactory


def _staff(*codenames: str) -> Client:
    staff = UserFactory(staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


def test_view_only_staff_cannot_close_a_draw_from_the_admin(world):
    draw = world.open_draw
    response = _staff("view_draw").post(
        "/admin/draws/draw/", {"action": "close_now", "_selected_action": [draw.pk]}
    )
    assert response.status_code == 200  # the changelist again: "No action selected"
    draw.refresh_from_db()
    assert draw.status == Draw.Status.OPEN


def test_an_operator_with_the_change_permission_closes_a_draw_from_the_admin(world):
    draw = world.open_draw
    response = _staff("view_draw", "change_draw").post(
        "/admin/draws/draw/", {"action": "close_now", "_selected_action": [draw.pk]}
    )
    assert response.status_code == 302
    draw.refresh_from_db()
    assert draw.status != Draw.Status.OPEN


def test_view_only_staff_cannot_ban_anyone_from_the_admin(world):
    target = world.victim
    response = _staff("view_user").post(
        "/admin/accounts/user/", {"action": "ban_users", "_selected_action": [target.pk]}
    )
    assert response.status_code == 200
    target.refresh_from_db()
    assert target.banned_at is None


def test_view_only_staff_cannot_unban_from_the_admin(world):
    world.victim.banned_at = world.open_draw.created_at
    world.victim.save(update_fields=["banned_at"])
    response = _staff("view_user").post(
        "/admin/accounts/user/", {"action": "unban_users", "_selected_action": [world.victim.pk]}
    )
    assert response.status_code == 200
    world.victim.refresh_from_db()
    assert world.victim.banned_at is not None


def test_staff_with_the_change_permission_bans_from_the_admin(world):
    response = _staff("view_user", "change_user").post(
        "/admin/accounts/user/", {"action": "ban_users", "_selected_action": [world.victim.pk]}
    )
    assert response.status_code == 302
    world.victim.refresh_from_db()
    assert world.victim.banned_at is not None
