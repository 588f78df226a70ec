import re

import pytest
from django.core import mail
from django.core.cache import cache
from rest_framework.test import APIClient

from lottery.accounts import throttles
from lottery.core.immutable import forget_all
from tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters and cached pages must not leak between tests."""
    cache.clear()
    forget_all()
    yield
    cache.clear()
    forget_all()


@pytest.fixture
def one_window(monkeypatch):
    """The rate limits count in fixed windows of wall-clock time: requests that straddle a
    boundary land in two windows and none is refused. A test that counts up to a limit
    uses this to keep all its requests in one window."""
    monkeypatch.setattr(throttles._ScopedThrottle, "timer", staticmethod(lambda: 1_800_000_030.0))


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def auth_api(user):
    """A client signed in as `user` with a bearer token, as API clients do."""
    from lottery.accounts.services import auth_token_create

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=user)}")
    return client


@pytest.fixture
def staff_api(db):
    from lottery.accounts.services import auth_token_create

    staff = UserFactory(staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {auth_token_create(user=staff)}")
    client.user = staff
    return client


@pytest.fixture
def delivered_mail(db):
    """Call it to run the outbox sweep (as the ticker/beat would) and get every mail sent so far.

    Test transactions never commit, so on-commit delivery does not fire here; the sweep is
    the same code path that retries in production.
    """
    from django.utils import timezone

    from lottery.core.outbox import outbox_deliver_due

    def deliver():
        outbox_deliver_due(now=timezone.now())
        return list(mail.outbox)

    return deliver


def link_from(message, kind: str) -> str:
    """The token of the `/kind/<token>` link standing on its own line of a mail's text part."""
    match = re.search(rf"^https?://\S+/{kind}/(\S+)$", message.body, re.MULTILINE)
    assert match, f"no {kind} link in:\n{message.body}"
    return match.group(1)


def assert_problem(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def travel(delta):
    """freeze_time at now + delta that keeps naive local time (used by Django's reset tokens)
    consistent with aware UTC time: Django sets the process TZ to TIME_ZONE."""
    import datetime as dt

    from django.utils import timezone
    from freezegun import freeze_time

    return freeze_time(timezone.now() + delta, tz_offset=dt.datetime.now().astimezone().utcoffset())
