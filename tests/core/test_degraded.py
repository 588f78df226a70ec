"""Losing Redis or the database degrades the service cleanly (P6: faults)."""

import pytest
from django.db import OperationalError
from django.test import override_settings

from lottery.core import outbox
from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db

DEAD_REDIS = {
    "default": {
        "BACKEND": "lottery.core.cache.ResilientRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_a_dead_redis_cache_is_a_miss_not_an_error(api, user, password):
    from django.core.cache import caches

    with override_settings(CACHES=DEAD_REDIS):
        caches._settings = None
        try:
            from django.core.cache import cache

            assert cache.get("anything", "fallback") == "fallback"
            cache.set("k", 1)
            assert cache.add("k", 1) is False
            signin = api.post(
                "/api/v1/auth/signin", {"email": user.email, "password": password}, format="json"
            )
            assert signin.status_code == 200
            assert api.get("/api/v1/stats").status_code == 200
        finally:
            caches._settings = None


def test_a_lost_database_is_a_503_problem_under_the_api(api, monkeypatch):
    from lottery.draws import selectors

    def unreachable(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "lottery_stats", unreachable)
    response = api.get("/api/v1/stats")
    body = assert_problem(response, 503, "service_unavailable")
    assert response["Retry-After"] == "5" and "retry" in body["detail"]


def test_a_lost_database_is_a_friendly_503_page(client, monkeypatch):
    from lottery.draws import selectors

    def unreachable(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(selectors, "lottery_stats", unreachable)
    response = client.get("/stats")
    assert response.status_code == 503
    assert "briefly unavailable" in response.content.decode()


def test_after_a_failed_publish_requests_stop_waiting_for_the_broker(monkeypatch):
    from lottery.core import tasks

    calls = []

    def broken_delay(email_id):
        calls.append(email_id)
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.outbox_deliver_task, "delay", broken_delay)
    monkeypatch.setattr(outbox, "_broker_paused_until", 0.0)
    outbox._schedule_delivery(1)
    outbox._schedule_delivery(2)
    assert calls == [1]
    monkeypatch.setattr(outbox, "_broker_paused_until", 0.0)
    outbox._schedule_delivery(3)
    assert calls == [1, 3]
