from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken

from lottery.accounts.models import User
from tests.conftest import assert_problem, link_from, travel
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "a very long and unusual passphrase 42"


def signup(api, email="jane@example.com", password=STRONG, name="Jane Doe"):
    return api.post(
        "/api/v1/auth/signup", {"email": email, "password": password, "name": name}, format="json"
    )


def test_signup_creates_unverified_user_and_mails_a_verification_link(api, delivered_mail):
    response = signup(api)
    assert response.status_code == 202
    assert set(response.json()) == {"detail"}
    user = User.objects.get(email="jane@example.com")
    assert not user.email_verified
    assert user.password.startswith("md5$")  # test hasher; production uses Argon2
    [message] = delivered_mail()
    assert message.to == ["jane@example.com"]
    token = link_from(message, "verify-email")
    assert all(c.isalnum() or c in "-_:." for c in token)
    assert message.alternatives and "verify-email/" in message.alternatives[0][0]


def test_signup_does_not_reveal_whether_the_email_is_registered(api, delivered_mail):
    UserFactory(email="taken@example.com")
    known = signup(api, email="taken@example.com")
    unknown = signup(api, email="free@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    by_recipient = {m.to[0]: m for m in delivered_mail()}
    assert "already have an account" in by_recipient["taken@example.com"].subject
    assert "Confirm" in by_recipient["free@example.com"].subject
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_signup_email_is_case_insensitive(api):
    UserFactory(email="case@example.com")
    assert signup(api, email="CASE@Example.com").status_code == 202
    assert User.objects.filter(email__iexact="case@example.com").count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": STRONG, "name": "Jane"}, "email"),
        ({"email": "a@example.com", "password": "123", "name": "Jane"}, "password"),
        ({"email": "a@example.com", "password": "password", "name": "Jane"}, "password"),
        ({"email": "a@example.com", "password": STRONG, "name": ""}, "name"),
        ({"email": "a@example.com", "password": STRONG}, "name"),
        ({"email": "a@example.com", "password": STRONG, "name": ["x"]}, "name"),
    ],
)
def test_signup_rejects_bad_input_with_field_errors(api, payload, field):
    body = assert_problem(api.post("/api/v1/auth/signup", payload, format="json"), 400, "validation_error")
    assert field in body["errors"]
    assert not User.objects.exists()


def test_malformed_json_is_a_parse_error(api):
    response = api.post("/api/v1/auth/signup", data="{not json", content_type="application/json")
    assert_problem(response, 400, "parse_error")


def test_verify_email_token_works_once(api, delivered_mail):
    signup(api)
    token = link_from(delivered_mail()[0], "verify-email")
    response = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert response.status_code == 200
    assert User.objects.get(email="jane@example.com").email_verified
    assert_problem(
        api.post("/api/v1/auth/verify-email", {"token": token}, format="json"), 400, "invalid_token"
    )


def test_verify_email_token_expires_after_24_hours(api, delivered_mail):
    signup(api)
    token = link_from(delivered_mail()[0], "verify-email")
    with travel(timedelta(hours=24, seconds=5)):
        response = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert_problem(response, 400, "invalid_token")
    assert not User.objects.get(email="jane@example.com").email_verified


@pytest.mark.parametrize("token", ["", "garbage", "1.abc:def:ghi", "x" * 600])
def test_verify_email_rejects_forged_tokens(api, token):
    response = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_token", "validation_error"}


def test_resend_verification_sends_a_fresh_link_only_to_unverified_accounts(api, delivered_mail):
    UserFactory(email="new@example.com", unverified=True)
    UserFactory(email="done@example.com")
    for email in ["new@example.com", "done@example.com", "nobody@example.com"]:
        response = api.post("/api/v1/auth/resend-verification", {"email": email}, format="json")
        assert response.status_code == 202
    assert [m.to[0] for m in delivered_mail()] == ["new@example.com"]


def test_resend_validation_error(api):
    assert_problem(api.post("/api/v1/auth/resend-verification", {}, format="json"), 400, "validation_error")


def test_signin_returns_token_and_session(api, user):
    response = api.post(
        "/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == user.email
    assert set(body["user"]) == {
        "id",
        "email",
        "name",
        "bank_account",
        "email_verified",
        "banned",
        "is_staff",
        "date_joined",
    }
    assert "sessionid" in response.cookies
    token_client = type(api)()
    token_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert token_client.get("/api/v1/me").json()["id"] == user.pk
    assert api.get("/api/v1/me").json()["id"] == user.pk  # the session works too
    assert AuthToken.objects.get(user=user).digest != body["token"]  # stored hashed


def test_signin_wrong_password_and_unknown_email_look_the_same(api, user):
    wrong = api.post("/api/v1/auth/signin", {"email": user.email, "password": "nope"}, format="json")
    unknown = api.post(
        "/api/v1/auth/signin", {"email": "ghost@example.com", "password": "nope"}, format="json"
    )
    assert_problem(wrong, 401, "invalid_credentials")
    assert_problem(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()


def test_signin_unverified_is_forbidden(api):
    user = UserFactory(unverified=True)
    response = api.post(
        "/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert_problem(response, 403, "email_not_verified")


def test_signin_with_session_cookie_requires_csrf(user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.cookies["sessionid"] = "anything"
    response = client.post(
        "/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert_problem(response, 403, "forbidden")
    fresh = APIClient(enforce_csrf_checks=True)
    ok = fresh.post("/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert ok.status_code == 200


def test_session_authenticated_unsafe_request_requires_csrf(user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.post("/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    response = client.patch("/api/v1/me", {"name": "New"}, format="json")
    assert_problem(response, 403, "forbidden")
    csrf = client.cookies.get("csrftoken")
    if csrf is None:
        client.get("/api/v1/me")
    user.refresh_from_db()
    assert user.name != "New"


def test_signout_revokes_the_token(api, user):
    token = api.post(
        "/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    ).json()["token"]
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.post("/api/v1/auth/signout").status_code == 204
    assert_problem(client.get("/api/v1/me"), 401, "not_authenticated")
    assert not AuthToken.objects.filter(user=user).exists()


def test_signout_requires_authentication(api):
    assert_problem(api.post("/api/v1/auth/signout"), 401, "not_authenticated")


def test_forgot_and_reset_password_revokes_every_token_and_session(api, user, delivered_mail):
    from rest_framework.test import APIClient

    session_client = APIClient()
    session_client.post(
        "/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    token_client = APIClient()
    token = token_client.post(
        "/api/v1/auth/signin", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    ).json()["token"]
    token_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert api.post("/api/v1/auth/password/forgot", {"email": user.email}, format="json").status_code == 202
    reset = link_from(delivered_mail()[-1], "reset-password")
    response = api.post("/api/v1/auth/password/reset", {"token": reset, "password": STRONG}, format="json")
    assert response.status_code == 200

    assert_problem(token_client.get("/api/v1/me"), 401, "not_authenticated")
    assert_problem(session_client.get("/api/v1/me"), 401, "not_authenticated")
    signin = api.post("/api/v1/auth/signin", {"email": user.email, "password": STRONG}, format="json")
    assert signin.status_code == 200
    again = api.post("/api/v1/auth/password/reset", {"token": reset, "password": STRONG + "x"}, format="json")
    assert_problem(again, 400, "invalid_token")


def test_reset_token_expires_after_one_hour(api, user, delivered_mail):
    api.post("/api/v1/auth/password/forgot", {"email": user.email}, format="json")
    reset = link_from(delivered_mail()[-1], "reset-password")
    with travel(timedelta(hours=1, seconds=5)):
        response = api.post(
            "/api/v1/auth/password/reset", {"token": reset, "password": STRONG}, format="json"
        )
    assert_problem(response, 400, "invalid_token")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_reset_rejects_weak_password_and_keeps_token_usable(api, user, delivered_mail):
    api.post("/api/v1/auth/password/forgot", {"email": user.email}, format="json")
    reset = link_from(delivered_mail()[-1], "reset-password")
    weak = api.post("/api/v1/auth/password/reset", {"token": reset, "password": "12345678"}, format="json")
    assert "password" in assert_problem(weak, 400, "validation_error")["errors"]
    ok = api.post("/api/v1/auth/password/reset", {"token": reset, "password": STRONG}, format="json")
    assert ok.status_code == 200


def test_forgot_password_is_generic(api, user, delivered_mail):
    known = api.post("/api/v1/auth/password/forgot", {"email": user.email}, format="json")
    unknown = api.post("/api/v1/auth/password/forgot", {"email": "ghost@example.com"}, format="json")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.to[0] for m in delivered_mail()] == [user.email]
    assert_problem(
        api.post("/api/v1/auth/password/forgot", {"email": "x"}, format="json"), 400, "validation_error"
    )


def test_me_requires_authentication(api):
    assert_problem(api.get("/api/v1/me"), 401, "not_authenticated")
    bad = type(api)()
    bad.credentials(HTTP_AUTHORIZATION="Bearer " + "0" * 64)
    assert_problem(bad.get("/api/v1/me"), 401, "not_authenticated")


def test_patch_me_validates_and_normalizes_iban(auth_api, user):
    response = auth_api.patch(
        "/api/v1/me", {"name": "Jane Q", "bank_account": "de89 3704 0044 0532 0130 00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["bank_account"] == "DE89370400440532013000"
    assert response.json()["name"] == "Jane Q"
    bad = auth_api.patch("/api/v1/me", {"bank_account": "DE00 1234"}, format="json")
    assert "bank_account" in assert_problem(bad, 400, "validation_error")["errors"]
    cleared = auth_api.patch("/api/v1/me", {"bank_account": ""}, format="json")
    assert cleared.json()["bank_account"] == ""
    assert (
        "name"
        in assert_problem(auth_api.patch("/api/v1/me", {"name": ""}, format="json"), 400, "validation_error")[
            "errors"
        ]
    )


def test_change_password(auth_api, user):
    wrong = auth_api.post(
        "/api/v1/me/password", {"current_password": "x", "new_password": STRONG}, format="json"
    )
    assert_problem(wrong, 403, "invalid_credentials")
    weak = auth_api.post(
        "/api/v1/me/password", {"current_password": DEFAULT_PASSWORD, "new_password": "short"}, format="json"
    )
    assert "new_password" in assert_problem(weak, 400, "validation_error")["errors"]
    ok = auth_api.post(
        "/api/v1/me/password", {"current_password": DEFAULT_PASSWORD, "new_password": STRONG}, format="json"
    )
    assert ok.status_code == 204
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert auth_api.get("/api/v1/me").status_code == 200  # the token that changed it survives


def test_signin_is_rate_limited_per_account(api, user, one_window):
    for _ in range(10):
        api.post(
            "/api/v1/auth/signin",
            {"email": user.email, "password": "wrong"},
            format="json",
            REMOTE_ADDR=f"10.0.0.{_}",
        )
    response = api.post(
        "/api/v1/auth/signin",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.1.1",
    )
    assert_problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    other = api.post(
        "/api/v1/auth/signin",
        {"email": "other@example.com", "password": "x"},
        format="json",
        REMOTE_ADDR="10.0.1.1",
    )
    assert other.status_code == 401


def test_signup_is_rate_limited_per_ip(api, one_window):
    for i in range(20):
        assert signup(api, email=f"u{i}@example.com").status_code == 202
    assert_problem(signup(api, email="u21@example.com"), 429, "rate_limited")
    assert not User.objects.filter(email="u21@example.com").exists()


def test_forgot_password_is_rate_limited_per_account(api, user, one_window):
    for i in range(5):
        api.post(
            "/api/v1/auth/password/forgot", {"email": user.email}, format="json", REMOTE_ADDR=f"10.0.0.{i}"
        )
    response = api.post(
        "/api/v1/auth/password/forgot", {"email": user.email}, format="json", REMOTE_ADDR="10.9.9.9"
    )
    assert_problem(response, 429, "rate_limited")


def test_resend_is_rate_limited_per_ip(api, one_window):
    for i in range(20):
        api.post("/api/v1/auth/resend-verification", {"email": f"x{i}@example.com"}, format="json")
    response = api.post("/api/v1/auth/resend-verification", {"email": "y@example.com"}, format="json")
    assert_problem(response, 429, "rate_limited")


def test_expired_token_is_refused_and_purged(api, user):
    from lottery.accounts.services import auth_token_create, auth_tokens_purge_expired

    token = auth_token_create(user=user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/v1/me").status_code == 200
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert_problem(api.get("/api/v1/me"), 401, "not_authenticated")
    assert auth_tokens_purge_expired(now=timezone.now()) == 1
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer \u00e9\u00e9", "Bearer " + "z" * 64])
def test_malformed_bearer_headers_are_401(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    assert_problem(api.get("/api/v1/me"), 401, "not_authenticated")
