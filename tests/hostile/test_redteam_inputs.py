"""Red team: request bodies an outsider can send that the API answered with a 500.

- a JSON body declaring a `charset` that Python knows but that is no text encoding
  (`application/json; charset=zlib`, `hex`, `rot13`, `idna`): the depth check decoded the
  body with it and raised LookupError;
- an e-mail holding a lone surrogate (`"\\ud800"`, valid JSON): the per-account rate limit
  hashed it as strict UTF-8 before the serializer could refuse it.
"""

import json

import pytest
from rest_framework.test import APIClient

from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

EMAIL_ENDPOINTS = ["/auth/signin", "/auth/password/forgot", "/auth/resend-verification"]


@pytest.mark.parametrize("charset", ["zlib", "bz2", "hex", "base64", "rot13", "uu", "idna"])
@pytest.mark.parametrize("path", ["/auth/signin", "/auth/signup", "/auth/password/reset"])
def test_a_json_body_in_a_charset_that_is_no_text_encoding_is_a_parse_error(path: str, charset: str) -> None:
    body = b'{"email": "someone@example.com", "password": "x"}'
    client = APIClient(raise_request_exception=False)
    response = client.generic(
        "POST", f"/api/v1{path}", body, content_type=f"application/json; charset={charset}"
    )
    assert_problem(response, 400, "parse_error")


def test_a_text_charset_other_than_utf8_is_still_read() -> None:
    body = '{"email": "someone@example.com", "password": "x"}'.encode("utf-16")
    client = APIClient(raise_request_exception=False)
    response = client.generic(
        "POST", "/api/v1/auth/signin", body, content_type="application/json; charset=utf-16"
    )
    assert_problem(response, 401, "invalid_credentials")  # decoded, validated, checked


@pytest.mark.parametrize("email", ["\ud800", "victim@example.org\udfff", "\udc80@example.org"])
@pytest.mark.parametrize("path", EMAIL_ENDPOINTS)
def test_an_email_with_a_lone_surrogate_is_a_validation_error(path: str, email: str) -> None:
    body = json.dumps({"email": email, "password": "x"})  # ensure_ascii: "\ud800" stays an escape
    assert "\\ud" in body or "\\udc" in body
    client = APIClient(raise_request_exception=False)
    response = client.generic("POST", f"/api/v1{path}", body, content_type="application/json")
    assert_problem(response, 400, "validation_error")


def test_the_surrogate_email_still_counts_against_the_account_limit(settings) -> None:
    """Counting it, rather than skipping the limit for it: the 11th attempt a minute is refused."""
    body = json.dumps({"email": "\ud800@example.org", "password": "x"})
    client = APIClient(raise_request_exception=False)
    codes = [
        client.generic("POST", "/api/v1/auth/signin", body, content_type="application/json").json()["code"]
        for _ in range(11)
    ]
    assert codes == ["validation_error"] * 10 + ["rate_limited"]
