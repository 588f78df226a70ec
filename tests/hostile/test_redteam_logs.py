"""Red team: a still-valid reset token, read from the service's own logs.

The reset form posted without its CSRF cookie (a mail app's browser that blocks cookies, a
forged cross-site post) is refused, and Django logs the refusal with the path:
`Forbidden (CSRF cookie not set.): /reset-password/<token>`. The token is not used up, so
whoever reads the logs (the log pipeline, anyone with access to it) resets the password. The
JSON lines of production also carry the record's `request`, whose repr holds the path.
"""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.test import Client
from pythonjsonlogger.json import JsonFormatter
from rest_framework.test import APIClient

from lottery.accounts import tokens
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _console() -> logging.StreamHandler:
    """The handler the service's logs go out through (settings.LOGGING "console")."""
    return next(h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler)


@pytest.fixture(params=["text", "json"])
def log_output(request) -> Iterator[io.StringIO]:
    handler = _console()
    stream, formatter = io.StringIO(), handler.formatter
    previous = handler.setStream(stream)
    if request.param == "json":  # as in production (LOG_FORMAT=json)
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"))
    try:
        yield stream
    finally:
        handler.setStream(previous)
        handler.setFormatter(formatter)


@pytest.mark.parametrize("kind", ["reset-password", "verify-email"])
def test_a_link_refused_for_csrf_leaves_no_token_in_the_logs(log_output, kind):
    user = UserFactory(email_verified_at=None) if kind == "verify-email" else UserFactory()
    token = (
        tokens.email_verification_token(user) if kind == "verify-email" else tokens.password_reset_token(user)
    )
    page = Client(enforce_csrf_checks=True)
    response = page.post(
        f"/{kind}/{token}", {"password": "new passphrase 55", "password2": "new passphrase 55"}
    )
    assert response.status_code == 403
    written = log_output.getvalue()
    assert f"/{kind}/[redacted]" in written  # the refusal is logged, without its token
    assert token not in written
    assert token.split(".")[-1] not in written

    # The token still works for its owner: the log line was its only copy outside the mailbox.
    if kind == "reset-password":
        reset = {"token": token, "password": "the owner's new passphrase 6"}
        assert APIClient().post("/api/v1/auth/password/reset", reset, format="json").status_code == 200


def test_the_json_line_is_still_one_object_with_the_request_id(log_output):
    if not isinstance(_console().formatter, JsonFormatter):
        pytest.skip("JSON lines only")
    token = tokens.password_reset_token(UserFactory())
    Client(enforce_csrf_checks=True).post(f"/reset-password/{token}", {}, HTTP_X_REQUEST_ID="rid-42")
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    refused = next(line for line in lines if line["name"] == "django.security.csrf")
    assert refused["request_id"] == "rid-42"
    assert "[redacted]" in refused["message"] and "[redacted]" in refused["request"]
