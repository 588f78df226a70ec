import json
import logging
import os
import subprocess
import sys

import pytest
from django.utils import timezone

from lottery.core.requestid import RequestIdFilter, request_id_var
from lottery.draws.calendar import lottery_date
from tests.factories import DrawTypeFactory, make_draw

pytestmark = pytest.mark.django_db

CARD = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}


def test_request_id_is_echoed_or_made_up(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert made["X-Request-ID"] != "bad id with spaces" and len(made["X-Request-ID"]) == 32


def test_log_lines_carry_the_request_id_as_json():
    from pythonjsonlogger.json import JsonFormatter

    record = logging.LogRecord("lottery.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"levelname": "level"},
    ).format(record)
    assert json.loads(line) | {"asctime": None} == {
        "asctime": None,
        "level": "INFO",
        "name": "lottery.test",
        "message": "hello world",
        "request_id": "req-42",
    }


def test_metrics_count_sales_and_database_facts(client, auth_api):
    draw = make_draw(lottery_date(timezone.now()), draw_type=DrawTypeFactory())

    def sold():
        body = client.get("/metrics").content.decode()
        line = next(x for x in body.splitlines() if x.startswith("lottery_ballots_sold_total "))
        return float(line.split()[1]), body

    before, _ = sold()
    assert (
        auth_api.post(
            "/api/v1/ballots/purchase",
            {"quantity": 3, "draw": str(draw.date), "payment": CARD},
            format="json",
        ).status_code
        == 201
    )
    after, body = sold()
    assert after - before == 3
    assert 'lottery_orders_total{outcome="paid"}' in body
    assert 'lottery_draws{status="open"} 1.0' in body
    assert "lottery_outbox_backlog 0.0" in body
    assert "django_http_requests_total_by_method_total" in body


def test_declined_purchase_is_counted_by_outcome(client, auth_api):
    auth_api.post(
        "/api/v1/ballots/purchase",
        {"quantity": 1, "payment": {**CARD, "card_number": "4000000000000002"}},
        format="json",
    )
    assert 'lottery_orders_total{outcome="payment_declined"}' in client.get("/metrics").content.decode()


def test_pages_get_a_strict_content_security_policy(client):
    policy = client.get("/api/v1/stats")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


def test_readyz_reports_outbox_backlog(client):
    assert client.get("/readyz").json()["checks"]["outbox"] == {"ok": True, "backlog": 0}


PRODUCTION_ENV = {
    "LOTTERY_ENV": "production",
    "SECRET_KEY": "a-realistic-production-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "lottery.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://lottery.example.com",
    "EMAIL_URL": "smtp://127.0.0.1:2525",
}


def test_production_settings_pass_check_deploy():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOTTERY_", "DJANGO_"))} | PRODUCTION_ENV
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_probes_answer_whatever_the_host_header(client):
    for path in ["/healthz", "/readyz", "/metrics"]:
        assert client.get(path, HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/api/v1/stats", HTTP_HOST="10.1.2.3:8000").status_code == 400  # others still checked
