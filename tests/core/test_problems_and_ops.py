import json
import os
import subprocess
import sys

import pytest
from django.test import override_settings

from tests.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_unknown_api_route_is_problem_json_whatever_accept_says(api):
    for accept in ["application/json", "text/html", "application/xml", "*/*"]:
        assert_problem(api.get("/api/v1/nope", HTTP_ACCEPT=accept), 404, "not_found")
    assert_problem(api.get("/api/nope"), 404, "not_found")


@override_settings(DEBUG=True)
def test_unknown_api_route_is_problem_json_in_debug_mode(api):
    assert_problem(api.get("/api/v1/definitely/not/here"), 404, "not_found")


def test_wrong_method_is_405_problem(api):
    body = assert_problem(api.get("/api/v1/auth/signup"), 405, "method_not_allowed")
    assert "GET" in body["detail"]


def test_unsupported_media_type_is_problem(api):
    response = api.post("/api/v1/auth/signup", data="a=b", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "unsupported_media_type")


def test_non_object_json_body_is_a_validation_error(api):
    response = api.post("/api/v1/auth/signup", data="[1, 2]", content_type="application/json")
    assert_problem(response, 400, "validation_error")


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == {"ok": True}


@override_settings(LOTTERY_HAS_BROKER=True)
def test_readyz_names_the_failing_broker(client):
    from config.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_openapi_schema_and_docs_are_served_without_cdn(client):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = (
        json.loads(schema.content)["paths"] if schema["Content-Type"].startswith("application/json") else None
    )
    if paths is None:
        import yaml

        paths = yaml.safe_load(schema.content)["paths"]
    assert "/api/v1/auth/signin" in paths
    for url in ["/api/docs", "/api/redoc"]:
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "cdn." not in html and "unpkg" not in html and "jsdelivr" not in html
        assert "/static/drf_spectacular_sidecar/" in html


def test_dev_mailbox_lists_sent_mail_with_clickable_links(client, api, delivered_mail):
    api.post(
        "/api/v1/auth/signup",
        {"email": "m@example.com", "password": "a fine long passphrase", "name": "M"},
        format="json",
    )
    delivered_mail()
    [entry] = client.get("/dev/mailbox.json").json()
    assert entry["to"] == "m@example.com"
    assert set(entry) == {"to", "subject", "body", "html", "sent_at"}
    assert "/verify-email/" in entry["body"]
    page = client.get("/dev/mailbox").content.decode()
    assert '<a href="http://testserver/verify-email/' in page


@override_settings(LOTTERY_DEV_MAILBOX=False)
def test_mailbox_is_404_in_production(client):
    assert client.get("/dev/mailbox").status_code == 404
    assert client.get("/dev/mailbox.json").status_code == 404


def _import_settings(env):
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "DJANGO_", "LOTTERY_"))
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DEBUG, s.PRODUCTION)"],
        env=full_env,
        capture_output=True,
        text=True,
        cwd=os.getcwd(),
        timeout=60,
    )


PROD = {
    "LOTTERY_ENV": "production",
    "ALLOWED_HOSTS": "lottery.example.com",
    "EMAIL_URL": "smtp://mail.example.com:587",
}


def test_production_refuses_to_start_without_a_real_secret_key():
    result = _import_settings(PROD)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug():
    result = _import_settings({**PROD, "SECRET_KEY": "x" * 60, "DJANGO_DEBUG": "true"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_production_runs_with_debug_off():
    result = _import_settings({**PROD, "SECRET_KEY": "x" * 60})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_secret_key_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("y" * 60)
    result = _import_settings({**PROD, "SECRET_KEY_FILE": str(secret)})
    assert result.returncode == 0, result.stderr
