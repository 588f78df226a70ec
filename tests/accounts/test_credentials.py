"""Credentials change in one place: every path revokes the other sessions and tokens, audits
and mails the owner; a re-started sign-up verifies with its latest password only."""

import ast
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from lottery.accounts import tokens
from lottery.accounts.models import AccountSession, SignupAttempt, User
from lottery.accounts.services import auth_token_create, user_update_profile
from lottery.core.models import AuditEntry
from tests.conftest import assert_problem, link_from
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "a very long and unusual passphrase 42"
OTHER = "another long and unusual passphrase 7"
IBAN = "DE89370400440532013000"
ROOT = Path(__file__).resolve().parents[2]


def signup(api, password, name, email="jane@example.com"):
    response = api.post(
        "/api/v1/auth/signup", {"email": email, "password": password, "name": name}, format="json"
    )
    assert response.status_code == 202, response.content


def signin(email, password):
    return APIClient().post("/api/v1/auth/signin", {"email": email, "password": password}, format="json")


def signed_in_everywhere(user):
    """A page session (a real sign-in, stored server-side) and a bearer token of `user`."""
    browser = Client()
    assert browser.post("/signin", {"email": user.email, "password": DEFAULT_PASSWORD}).status_code == 302
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=user)}")
    assert browser.get("/profile").status_code == 200 and token_client.get("/api/v1/me").status_code == 200
    return browser, token_client


def assert_signed_out(user, browser, token_client):
    assert browser.get("/profile").status_code == 302  # the old session is refused
    assert_problem(token_client.get("/api/v1/me"), 401, "not_authenticated")
    assert not AuthToken.objects.filter(user=user).exists()
    assert not AccountSession.objects.filter(user_id=user.pk).exists()


def verify_links(messages, email="jane@example.com"):
    return [link_from(m, "verify-email") for m in messages if m.to == [email] and "verify-email/" in m.body]


# --- sign-up started over --------------------------------------------------------------------


def test_a_new_signup_for_an_unverified_address_makes_only_the_newest_link_verify(api, delivered_mail):
    signup(api, STRONG, "First Person")
    signup(api, OTHER, "Second Person")
    first, second = verify_links(delivered_mail())
    assert "replaces every link we sent before" in delivered_mail()[-1].body
    assert_problem(
        api.post("/api/v1/auth/verify-email", {"token": first}, format="json"), 400, "invalid_token"
    )
    assert not User.objects.get(email="jane@example.com").email_verified
    assert api.post("/api/v1/auth/verify-email", {"token": second}, format="json").status_code == 200
    user = User.objects.get(email="jane@example.com")
    assert user.email_verified and user.name == "Second Person"
    assert user.check_password(OTHER) and not user.check_password(STRONG)
    assert not SignupAttempt.objects.exists()


def test_resend_mails_a_link_for_the_latest_signup(api, delivered_mail):
    signup(api, STRONG, "First Person")
    signup(api, OTHER, "Second Person")
    api.post("/api/v1/auth/resend-verification", {"email": "jane@example.com"}, format="json")
    resent = verify_links(delivered_mail())[-1]
    assert api.post("/api/v1/auth/verify-email", {"token": resent}, format="json").status_code == 200
    assert signin("jane@example.com", OTHER).status_code == 200


def test_verifying_mails_the_owner_and_is_audited(api, delivered_mail):
    signup(api, STRONG, "Jane Doe")
    [link] = verify_links(delivered_mail())
    api.post("/api/v1/auth/verify-email", {"token": link}, format="json")
    assert delivered_mail()[-1].subject == "Your e-mail address is confirmed"
    assert delivered_mail()[-1].alternatives  # text and HTML, like every mail
    entry = AuditEntry.objects.get(action="user.email_verified")
    assert entry.actor.email == "jane@example.com"


def test_a_reset_of_an_unverified_account_verifies_it_and_leaves_nothing_set_before(api, delivered_mail):
    signup(api, STRONG, "First Person")
    [old_link] = verify_links(delivered_mail())
    User.objects.filter(email="jane@example.com").update(bank_account=IBAN)  # staff, before this change
    api.post("/api/v1/auth/password/forgot", {"email": "jane@example.com"}, format="json")
    reset = link_from(delivered_mail()[-1], "reset-password")
    assert (
        api.post(
            "/api/v1/auth/password/reset", {"token": reset, "password": OTHER}, format="json"
        ).status_code
        == 200
    )
    user = User.objects.get(email="jane@example.com")
    assert user.email_verified and user.bank_account == "" and user.check_password(OTHER)
    assert not SignupAttempt.objects.exists()
    assert_problem(
        api.post("/api/v1/auth/verify-email", {"token": old_link}, format="json"), 400, "invalid_token"
    )
    assert signin("jane@example.com", STRONG).status_code == 401


def test_an_account_created_by_staff_verifies_with_the_password_it_has(client):
    user = UserFactory(unverified=True)
    response = client.post(f"/verify-email/{tokens.email_verification_token(user)}")
    assert response.status_code == 302
    assert signin(user.email, DEFAULT_PASSWORD).status_code == 200


# --- every path that changes a password ------------------------------------------------------


def test_api_password_change_by_token_keeps_only_that_token(user):
    browser, token_client = signed_in_everywhere(user)
    other_token = APIClient()
    other_token.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=user)}")
    response = token_client.post(
        "/api/v1/me/password", {"current_password": DEFAULT_PASSWORD, "new_password": STRONG}, format="json"
    )
    assert response.status_code == 204
    assert token_client.get("/api/v1/me").status_code == 200
    assert_problem(other_token.get("/api/v1/me"), 401, "not_authenticated")
    assert browser.get("/profile").status_code == 302
    assert not AccountSession.objects.filter(user_id=user.pk).exists()


def test_api_password_change_by_session_keeps_only_that_session(user):
    browser, token_client = signed_in_everywhere(user)
    session_api = APIClient()
    session_api.post(
        "/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    response = session_api.post(
        "/api/v1/me/password", {"current_password": DEFAULT_PASSWORD, "new_password": STRONG}, format="json"
    )
    assert response.status_code == 204
    assert session_api.get("/api/v1/me").status_code == 200
    assert browser.get("/profile").status_code == 302
    assert_problem(token_client.get("/api/v1/me"), 401, "not_authenticated")
    assert not AuthToken.objects.filter(user=user).exists()  # signin's own token too: not this session
    assert AccountSession.objects.filter(user_id=user.pk).count() == 1


def test_page_password_change_signs_out_the_other_sessions(user):
    browser, token_client = signed_in_everywhere(user)
    other_browser = Client()
    other_browser.post("/signin", {"email": user.email, "password": DEFAULT_PASSWORD})
    data = {
        "action": "password",
        "current_password": DEFAULT_PASSWORD,
        "new_password": STRONG,
        "new_password2": STRONG,
    }
    assert browser.post("/profile", data).status_code == 302
    assert browser.get("/profile").status_code == 200
    assert other_browser.get("/profile").status_code == 302
    assert_problem(token_client.get("/api/v1/me"), 401, "not_authenticated")
    assert AccountSession.objects.filter(user_id=user.pk).count() == 1


def test_page_reset_signs_out_every_session_and_token(client, user):
    browser, token_client = signed_in_everywhere(user)
    user.refresh_from_db()  # signing in moved last_login, which reset tokens depend on
    token = tokens.password_reset_token(user)
    assert (
        client.post(f"/reset-password/{token}", {"password": STRONG, "password2": STRONG}).status_code == 302
    )
    assert_signed_out(user, browser, token_client)


def test_admin_password_change_revokes_sessions_and_tokens_and_is_audited(user, delivered_mail):
    browser, token_client = signed_in_everywhere(user)
    staff = UserFactory(staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    response = admin.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": STRONG, "password2": STRONG, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert_signed_out(user, browser, token_client)
    assert signin(user.email, STRONG).status_code == 200
    entry = AuditEntry.objects.get(action="user.password_changed", object_id=str(user.pk))
    assert entry.actor == staff and entry.data["tokens_revoked"] == 1 and entry.data["sessions_revoked"] == 1
    notice = next(m for m in delivered_mail() if m.to == [user.email])
    assert notice.subject == "Your password was changed" and "by a member of staff" in notice.body


def test_admin_disabling_password_signin_revokes_sessions_and_tokens(user):
    browser, token_client = signed_in_everywhere(user)
    admin = Client()
    admin.force_login(UserFactory(staff=True, is_superuser=True))
    admin.post(
        f"/admin/accounts/user/{user.pk}/password/", {"usable_password": "false", "unset-password": "1"}
    )
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert_signed_out(user, browser, token_client)


def test_an_admin_changing_their_own_password_stays_signed_in_there_only(db):
    staff = UserFactory(staff=True, is_superuser=True)
    admin, token_client = signed_in_everywhere(staff)
    admin.post(
        f"/admin/accounts/user/{staff.pk}/password/",
        {"password1": STRONG, "password2": STRONG, "usable_password": "true"},
    )
    assert admin.get("/admin/").status_code == 200
    assert_problem(token_client.get("/api/v1/me"), 401, "not_authenticated")


def test_admin_adding_a_user_sets_the_password_through_the_service(db):
    admin = Client()
    admin.force_login(UserFactory(staff=True, is_superuser=True))
    response = admin.post(
        "/admin/accounts/user/add/",
        {"email": "new@example.com", "name": "New Person", "password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    user = User.objects.get(email="new@example.com")
    assert user.check_password(STRONG)
    assert AuditEntry.objects.filter(action="user.password_changed", object_id=str(user.pk)).exists()


def test_the_admin_cannot_set_an_iban_or_verify_an_address(db):
    admin = Client()
    admin.force_login(UserFactory(staff=True, is_superuser=True))
    user = UserFactory(unverified=True)
    page = admin.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert 'name="bank_account"' not in page and 'name="email_verified_at_0"' not in page


def test_manage_py_changepassword_goes_through_the_service(user, monkeypatch):
    assert get_commands()["changepassword"] == "lottery.accounts"
    browser, token_client = signed_in_everywhere(user)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": STRONG)
    call_command("changepassword", user.email.upper())
    assert_signed_out(user, browser, token_client)
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert AuditEntry.objects.get(action="user.password_changed").actor_label == "manage.py changepassword"


def test_a_password_change_mails_the_owner(auth_api, user, delivered_mail):
    auth_api.post(
        "/api/v1/me/password", {"current_password": DEFAULT_PASSWORD, "new_password": STRONG}, format="json"
    )
    [notice] = delivered_mail()
    assert notice.to == [user.email] and "changed by you" in notice.body
    assert "/forgot-password" in notice.body and notice.alternatives


def test_a_bank_account_change_mails_the_owner_once(user, delivered_mail):
    user_update_profile(user=user, bank_account=IBAN)
    user_update_profile(user=user, bank_account=IBAN, name="Same IBAN")
    [notice] = delivered_mail()
    assert notice.subject == "Your bank account for prizes was changed"
    assert "ends in 3000" in notice.body and IBAN not in notice.body
    user_update_profile(user=user, bank_account="")
    assert "was removed" in delivered_mail()[-1].body
    assert AuditEntry.objects.filter(action="user.bank_account_changed").count() == 2


# --- nothing else sets a password -------------------------------------------------------------

# Where a password may be set: the credentials service, and creating a user in the manager.
ALLOWED = {
    ("lottery/accounts/credentials.py", "user_credentials_replace"),
    ("lottery/accounts/models.py", "create_user"),
}


def _password_writes(tree: ast.AST):
    """(function, line) of every call of set_password/set_unusable_password, assignment to a
    `.password` attribute, and `.update(password=…)` in a module."""

    def walk(node, function):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            method = (
                child.func.attr
                if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                else None
            )
            if method in {"set_password", "set_unusable_password"} or (
                method == "update" and any(k.arg == "password" for k in child.keywords)  # type: ignore[attr-defined]
            ):
                yield name, child.lineno
            targets = child.targets if isinstance(child, ast.Assign) else []
            if isinstance(child, ast.AugAssign | ast.AnnAssign):
                targets = [child.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "password" for t in targets):
                yield name, child.lineno
            yield from walk(child, name)

    yield from walk(tree, None)


def test_no_code_sets_a_password_outside_the_credentials_service():
    found = {
        (str(path.relative_to(ROOT)), function, line)
        for package in ("lottery", "config", "scripts", "bench")
        for path in (ROOT / package).rglob("*.py")
        for function, line in _password_writes(ast.parse(path.read_text(), str(path)))
    }
    assert {(p, f) for p, f, _ in found} <= ALLOWED, sorted(found)
    assert {(p, f) for p, f, _ in found} == ALLOWED  # the scan does see the allowed ones


def test_the_scan_catches_each_kind_of_password_write():
    source = (
        "def a(u):\n    u.set_password('x')\n"
        "def b(u):\n    u.set_unusable_password()\n"
        "def c(u):\n    u.password = 'h'\n"
        "def d():\n    User.objects.filter(pk=1).update(password='h')\n"
    )
    assert {f for f, _ in _password_writes(ast.parse(source))} == {"a", "b", "c", "d"}
