"""Rate limits under real concurrency: threads, PostgreSQL and the real Redis cache.

DRF's throttle reads the request history and writes it back; requests arriving together all
read the same history and all get through. Ours count atomically (Redis INCR).
"""

import threading

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from lottery.accounts import throttles
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL"),
    pytest.mark.skipif(
        "Redis" not in settings.CACHES["default"]["BACKEND"], reason="needs the Redis cache: set REDIS_URL"
    ),
]

MIDDLE_OF_A_WINDOW = 1_800_000_030.0  # every request in one fixed window, whatever the wall clock


def all_at_once(requests):
    """Send the requests from one thread each, released together; their status codes."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []
    errors: list[BaseException] = []

    def send(request):
        try:
            barrier.wait(timeout=10)
            statuses.append(request().status_code)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len(statuses) == len(requests)
    return statuses


@pytest.fixture
def one_window(monkeypatch):
    monkeypatch.setattr(throttles._ScopedThrottle, "timer", staticmethod(lambda: MIDDLE_OF_A_WINDOW))


def test_concurrent_signins_to_one_account_get_past_its_limit_no_more_than_the_limit(one_window):
    user = UserFactory()
    limit = 10  # signin_account
    attempts = limit + 15

    def attempt(n):
        # From many addresses, so only the per-account limit applies.
        body = {"email": user.email, "password": f"guess {n}"}
        return lambda: APIClient().post("/api/v1/auth/signin", body, format="json", REMOTE_ADDR=f"10.1.0.{n}")

    statuses = all_at_once([attempt(n) for n in range(attempts)])
    assert statuses.count(401) == limit
    assert statuses.count(429) == attempts - limit


def test_concurrent_signups_from_one_address_get_past_its_limit_no_more_than_the_limit(one_window):
    limit = 20  # signup_ip
    attempts = limit + 10

    def attempt(n):
        body = {
            "email": f"person{n}@example.com",
            "password": "a long and unusual passphrase",
            "name": f"P {n}",
        }
        return lambda: APIClient().post("/api/v1/auth/signup", body, format="json", REMOTE_ADDR="10.2.0.1")

    statuses = all_at_once([attempt(n) for n in range(attempts)])
    assert statuses.count(202) == limit
    assert statuses.count(429) == attempts - limit
